// `sealroom attestation verify` (evidence appraised offline) and `sealroom verifier collateral import` (the cache).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isSealroomError } from '@sealroom/core';
import {
  type LoadedCollateral,
  type OfflineOptions,
  fetchSnpCollateral,
  fetchTdxCollateral,
  importCollateral,
  loadCollateral,
  classifyFile,
  verifyEvidenceOffline,
} from '@sealroom/verifier';
import type { CommandContext, CommandSpec, FlagSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { configDir } from '../config-store.ts';
import { renderOutput } from '../format.ts';

const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
] as const;
type TcbStatusName = (typeof TCB_STATUSES)[number];

const COLLATERAL_FLAG: FlagSpec = {
  type: 'string',
  description:
    'The collateral cache directory (default: `collateral` in the CLI configuration directory, or SEALROOM_COLLATERAL_DIR).',
};

function collateralDir(ctx: CommandContext): string {
  return (
    (ctx.flags.collateral as string | undefined) ??
    ctx.env.SEALROOM_COLLATERAL_DIR ??
    join(configDir(ctx.env), 'collateral')
  );
}

function listFlag(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
}

function readInput(path: string): { name: string; bytes: Buffer } {
  try {
    return { name: basename(path), bytes: readFileSync(path) };
  } catch (error) {
    throw new UsageError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
}

const ARK_FLAG: FlagSpec = {
  type: 'string',
  multiple: true,
  description:
    'SHA-256 (hex) of an AMD root key (ARK) you vouch for beyond the pinned Milan root, e.g. the Genoa or Turin ARK; an unpinned ARK is refused without it. Repeatable.',
};

function arkFlag(ctx: CommandContext): string[] {
  const values = listFlag(ctx.flags['ark-sha256']).map((v) => v.toLowerCase());
  for (const value of values) {
    if (!/^[0-9a-f]{64}$/.test(value)) throw new UsageError('--ark-sha256 takes a SHA-256 fingerprint in hex.');
  }
  return values;
}

function isCertificateFile(input: { name: string; bytes: Buffer }): boolean {
  try {
    return classifyFile(input.name, input.bytes).kind === 'certificates';
  } catch {
    return false;
  }
}

function hexFlag(ctx: CommandContext, name: string, max: number): Buffer | undefined {
  const value = ctx.flags[name] as string | undefined;
  if (value === undefined) return undefined;
  if (!/^([0-9a-fA-F]{2})+$/.test(value) || value.length / 2 > max) {
    throw new UsageError(`--${name} takes 1 to ${max} bytes of hex.`);
  }
  return Buffer.from(value, 'hex');
}

function atFlag(ctx: CommandContext): Date {
  const value = ctx.flags.at as string | undefined;
  if (value === undefined) return new Date();
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(at.getTime())) {
    throw new UsageError('--at takes an RFC 3339 time, e.g. 2026-01-01T00:00:00Z.');
  }
  return at;
}

function offlineOptions(ctx: CommandContext): OfflineOptions {
  const nonce = hexFlag(ctx, 'nonce', 1024);
  const reportData = hexFlag(ctx, 'report-data', 64);
  if (nonce !== undefined && reportData !== undefined) throw new UsageError('Give --nonce or --report-data, not both.');
  const statuses = listFlag(ctx.flags['accept-tcb-status']);
  for (const status of statuses) {
    if (!(TCB_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--accept-tcb-status takes one of ${TCB_STATUSES.join(', ')}.`);
    }
  }
  const trustedRoots = listFlag(ctx.flags['trust-root']).flatMap((path) => {
    const input = readInput(path);
    const roots = isCertificateFile(input) ? classifyFile(input.name, input.bytes).certificates : undefined;
    if (roots === undefined || roots.length === 0) throw new UsageError(`${path} holds no certificate.`);
    return roots;
  });
  let collateral: LoadedCollateral | undefined;
  if (ctx.flags.collateral !== undefined || ctx.env.SEALROOM_COLLATERAL_DIR !== undefined) {
    collateral = loadCollateral(collateralDir(ctx));
  }
  return {
    at: atFlag(ctx),
    ...(nonce === undefined ? {} : { nonce }),
    ...(reportData === undefined ? {} : { reportData }),
    trustedRoots,
    ...(collateral === undefined ? {} : { collateral }),
    allowDebug: ctx.flags['allow-debug'] === true,
    ...(statuses.length === 0 ? {} : { acceptedTcbStatuses: ['UpToDate', ...(statuses as TcbStatusName[])] }),
    allowStaleCollateral: ctx.flags['allow-stale-collateral'] === true,
  };
}

export const attestationCommands: CommandSpec[] = [
  {
    path: ['attestation', 'verify'],
    summary:
      'Appraises evidence files offline (a SEV-SNP report with its certificates, a TDX quote, a TPM attestation, a canonical event log); exits 0 only on accept.',
    args: [{ name: 'EVIDENCE', required: true, variadic: true }],
    flags: {
      nonce: {
        type: 'string',
        description:
          'The challenge nonce (hex): report_data must be derived from it (see docs/attestation.md); a TPM quote must carry it.',
      },
      'report-data': {
        type: 'string',
        description: 'A report_data to compare verbatim instead of deriving it (hex, up to 64 bytes, zero-padded).',
      },
      at: {
        type: 'string',
        description: 'Verify at this RFC 3339 time instead of now (certificates, CRLs, collateral).',
      },
      'trust-root': {
        type: 'string',
        multiple: true,
        description: 'A root certificate (PEM or DER) to trust beyond the pinned AMD and Intel roots; repeatable.',
      },
      collateral: {
        type: 'string',
        description:
          'Read certificates, CRLs and Intel collateral from this cache (filled with `sealroom verifier collateral import`); with SEALROOM_COLLATERAL_DIR set, that cache is read by default.',
      },
      'allow-debug': { type: 'boolean', description: 'Accept guests whose policy or TD attributes allow debugging.' },
      'accept-tcb-status': {
        type: 'string',
        multiple: true,
        description: 'A TDX TCB status to accept besides UpToDate (OutOfDate, SWHardeningNeeded, …); repeatable.',
      },
      'allow-stale-collateral': {
        type: 'boolean',
        description: 'Accept Intel collateral past its nextUpdate; the claims then say it is stale.',
      },
    },
    async run(ctx) {
      const files = listFlag(ctx.args.EVIDENCE).map(readInput);
      const options = offlineOptions(ctx);
      try {
        return verifyEvidenceOffline(files, options);
      } catch (error) {
        if (!isSealroomError(error)) throw error;
        // The refusal is a result too: print it in the asked format, then fail with its code.
        const format = ctx.flags.format as string | undefined;
        if (format !== undefined && format !== 'none') {
          ctx.out(renderOutput({ verdict: 'reject', code: error.code, message: error.message }, format).trimEnd());
        }
        error.message = `${error.code}: ${error.message}`;
        throw error;
      }
    },
  },
  {
    path: ['verifier', 'collateral', 'import'],
    summary:
      'Imports AMD and Intel certificates, CRLs, TCB info and QE identity into the offline collateral cache (content-addressed).',
    args: [{ name: 'FILES', required: true, variadic: true }],
    flags: { collateral: COLLATERAL_FLAG, 'ark-sha256': ARK_FLAG },
    async run(ctx) {
      const dir = collateralDir(ctx);
      const imported = importCollateral(dir, listFlag(ctx.args.FILES).map(readInput), { arkSha256: arkFlag(ctx) });
      ctx.err(`Imported ${imported.filter((i) => i.added).length} new of ${imported.length} into ${dir}.`);
      return imported;
    },
  },
  {
    path: ['verifier', 'collateral', 'fetch'],
    summary:
      'Fetches AMD KDS or Intel PCS collateral for a machine into the offline collateral cache, from the vendors’ hosts only.',
    flags: {
      platform: { type: 'string', required: true, description: '`sev-snp` (AMD KDS) or `tdx` (Intel PCS).' },
      report: {
        type: 'string',
        description: 'sev-snp: a report of the machine; its chip ID and reported TCB name the VCEK to fetch.',
      },
      product: { type: 'string', description: 'sev-snp: `Milan`, `Genoa` or `Turin`, when the report does not say.' },
      quote: { type: 'string', description: 'tdx: a quote of the machine; its PCK certificate names the FMSPC.' },
      fmspc: { type: 'string', description: 'tdx: the FMSPC (6 bytes of hex), instead of a quote.' },
      collateral: COLLATERAL_FLAG,
      'ark-sha256': ARK_FLAG,
    },
    async run(ctx) {
      const platform = ctx.flags.platform as string;
      if (platform !== 'sev-snp' && platform !== 'tdx') throw new UsageError('--platform takes sev-snp or tdx.');
      const { createOutboundClient } = await import('@sealroom/outbound');
      // The default policy: https to public addresses; the fetcher adds the vendors' host allow-list.
      const options = { client: createOutboundClient(), dir: collateralDir(ctx), arkSha256: arkFlag(ctx) };
      const file = (flag: string) =>
        ctx.flags[flag] === undefined ? undefined : readInput(ctx.flags[flag] as string).bytes;
      let fetched: Awaited<ReturnType<typeof fetchTdxCollateral>>;
      if (platform === 'sev-snp') {
        const product = ctx.flags.product as string | undefined;
        if (product !== undefined && !['Milan', 'Genoa', 'Turin'].includes(product)) {
          throw new UsageError('--product takes Milan, Genoa or Turin.');
        }
        const report = file('report');
        fetched = await fetchSnpCollateral(options, {
          ...(report === undefined ? {} : { report }),
          ...(product === undefined ? {} : { product: product as 'Milan' | 'Genoa' | 'Turin' }),
        });
      } else {
        const quote = file('quote');
        const fmspc = ctx.flags.fmspc as string | undefined;
        fetched = await fetchTdxCollateral(options, {
          ...(quote === undefined ? {} : { quote }),
          ...(fmspc === undefined ? {} : { fmspc }),
        });
      }
      ctx.err(`Fetched ${fetched.filter((i) => i.added).length} new of ${fetched.length} into ${options.dir}.`);
      return fetched;
    },
  },
];
