// `sealroom transparency …`: the log key, checkpoints, receipts (fetched, then verified offline) and the witness.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type WitnessState,
  createCosigner,
  generateNoteKey,
  openCheckpoint,
  parseVerifierKey,
  TransparencyError,
  verifyCheckpointNote,
  verifyReceipt,
  witnessCheckpoint,
} from '@sealroom/transparency';
import { createApiClient } from '../api-client.ts';
import type { CommandContext, CommandSpec, FlagSpec } from '../command.ts';
import { UsageError } from '../command.ts';

const LOG_KEY: FlagSpec = {
  type: 'string',
  description: "The log's note verifier key (from `sealroom transparency log-key`), or a file holding it.",
};
const WITNESS_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'witness-key': {
    type: 'string',
    multiple: true,
    description: 'A trusted witness cosignature key (name+keyid+base64), or a file holding one; repeatable.',
  },
  witnesses: { type: 'string', description: 'How many trusted witnesses must have cosigned (default 0).' },
};

/** A key given inline or as a file holding it. */
function keyArg(value: string): string {
  return existsSync(value) ? readFileSync(value, 'utf8').trim() : value.trim();
}

function listFlag(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
}

function quorumOf(ctx: CommandContext): number {
  const text = (ctx.flags.witnesses as string | undefined) ?? '0';
  if (!/^\d{1,2}$/.test(text)) throw new UsageError('--witnesses takes a count.');
  return Number(text);
}

/** Verification failures keep their code in the message, so a script and a person can tell them apart. */
async function coded<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TransparencyError) throw new TransparencyError(error.code, `${error.code}: ${error.message}`);
    throw error;
  }
}

interface ReceiptSummary {
  index: number;
  kind: string;
  time: string;
  method: string;
  resource: string;
  principal: string;
  outcome: string;
  facts?: Record<string, unknown>;
}

function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

export const transparencyCommands: CommandSpec[] = [
  {
    path: ['transparency', 'log-key'],
    summary: "Prints the deployment's transparency log key (a C2SP note verifier key) and origin.",
    async run(ctx) {
      const key = await ctx.api.request<{ origin: string; verifierKey: string }>('GET', '/v1/transparency/log-key', {
        anonymous: true,
      });
      if (ctx.flags.format) return key;
      ctx.out(key.verifierKey);
      return undefined;
    },
  },
  {
    path: ['transparency', 'checkpoint'],
    summary: "Prints the log's latest signed checkpoint with its witness cosignatures (or the one of --size).",
    flags: {
      size: { type: 'string', description: 'The checkpoint of this tree size instead of the latest.' },
      'log-key': LOG_KEY,
      ...WITNESS_FLAGS,
    },
    async run(ctx) {
      const size = ctx.flags.size as string | undefined;
      const note = await ctx.api.request<string>(
        'GET',
        size === undefined ? '/v1/transparency/checkpoint' : `/v1/transparency/checkpoints/${encodeURIComponent(size)}`,
        { anonymous: true },
      );
      if (ctx.flags['log-key'] !== undefined) {
        await coded(() =>
          verifyCheckpointNote(note, {
            logKey: keyArg(ctx.flags['log-key'] as string),
            witnessKeys: listFlag(ctx.flags['witness-key']).map(keyArg),
            witnessQuorum: quorumOf(ctx),
          }),
        );
      }
      ctx.out(note.replace(/\n$/, ''));
      return undefined;
    },
  },
  {
    path: ['transparency', 'receipts', 'list'],
    summary: "Lists the log's entries about the project (key use, exchanges, policy changes, releases), oldest first.",
    defaultFormat: 'table(index, time, kind, method, resource, principal, outcome)',
    flags: {
      kind: { type: 'string', description: 'Only entries of this kind (kms.use, sts.exchange, workload.release, …).' },
      limit: { type: 'string', description: 'At most this many entries (default 1000).' },
      'output-dir': { type: 'string', description: 'Also write each entry’s receipt to DIR/INDEX.tlog-proof.' },
      checkpoint: {
        type: 'string',
        description: 'A checkpoint file (e.g. from a result): only entries before it, receipts against it.',
      },
      'log-key': { ...LOG_KEY, description: `${LOG_KEY.description} Required with --checkpoint.` },
    },
    async run(ctx) {
      const project = encodeURIComponent(ctx.project());
      const limit = ctx.flags.limit === undefined ? 1000 : Number(ctx.flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a positive count.');
      let treeSize: number | undefined;
      if (ctx.flags.checkpoint !== undefined) {
        if (ctx.flags['log-key'] === undefined) throw new UsageError('--checkpoint needs --log-key to check it.');
        const note = readFileSync(ctx.flags.checkpoint as string, 'utf8');
        treeSize = (await coded(() => openCheckpoint(note, parseVerifierKey(keyArg(ctx.flags['log-key'] as string)))))
          .size;
      }
      const receipts: ReceiptSummary[] = [];
      let pageToken: string | undefined;
      do {
        const page = await ctx.api.request<{ receipts?: ReceiptSummary[]; nextPageToken?: string }>(
          'GET',
          `/v1/projects/${project}/transparency/receipts`,
          {
            query: {
              pageSize: String(Math.min(limit - receipts.length, 1000)),
              ...(pageToken ? { pageToken } : {}),
              ...(ctx.flags.kind ? { kind: ctx.flags.kind as string } : {}),
            },
          },
        );
        for (const r of page.receipts ?? []) if (treeSize === undefined || r.index < treeSize) receipts.push(r);
        pageToken = page.nextPageToken;
        if (treeSize !== undefined && (page.receipts ?? []).some((r) => r.index >= treeSize)) pageToken = undefined;
      } while (pageToken && receipts.length < limit);
      const dir = ctx.flags['output-dir'] as string | undefined;
      if (dir !== undefined) {
        mkdirSync(dir, { recursive: true });
        for (const r of receipts) {
          const text = await ctx.api.request<string>(
            'GET',
            `/v1/projects/${project}/transparency/receipts/${r.index}`,
            {
              ...(treeSize === undefined ? {} : { query: { treeSize: String(treeSize) } }),
            },
          );
          writeFileSync(join(dir, `${r.index}.tlog-proof`), text);
        }
        ctx.err(`Wrote ${receipts.length} receipt(s) to ${dir}.`);
      }
      if (ctx.flags.format) return receipts;
      for (const r of receipts) {
        ctx.out(
          `${r.index}\t${r.time}\t${r.kind}\t${r.outcome}\t${r.method.split('.').at(-1)}\t${r.resource}\t${r.principal}`,
        );
      }
      return undefined;
    },
  },
  {
    path: ['transparency', 'receipts', 'get'],
    summary: 'Fetches the receipt (a C2SP tlog-proof) of one log entry about the project.',
    args: [{ name: 'INDEX', required: true }],
    flags: {
      'tree-size': {
        type: 'string',
        description: 'Prove inclusion in the checkpoint of this size (default: the first that holds it).',
      },
      'output-file': { type: 'string', description: 'Write the receipt here instead of stdout.' },
    },
    async run(ctx) {
      const index = ctx.args.INDEX as string;
      if (!/^\d+$/.test(index)) throw new UsageError('INDEX is a log index.');
      const size = ctx.flags['tree-size'] as string | undefined;
      const text = await ctx.api.request<string>(
        'GET',
        `/v1/projects/${encodeURIComponent(ctx.project())}/transparency/receipts/${index}`,
        size === undefined ? {} : { query: { treeSize: size } },
      );
      const file = ctx.flags['output-file'] as string | undefined;
      if (file === undefined) ctx.out(text.replace(/\n$/, ''));
      else writeFileSync(file, text);
      return undefined;
    },
  },
  {
    path: ['transparency', 'verify'],
    summary:
      'Verifies a receipt offline: log signature, witness cosignatures, the entry’s inclusion; prints the entry.',
    args: [{ name: 'RECEIPT', required: true }],
    flags: { 'log-key': { ...LOG_KEY, required: true }, ...WITNESS_FLAGS },
    async run(ctx) {
      const text = readFileSync(ctx.args.RECEIPT as string, 'utf8');
      const verified = await coded(() =>
        verifyReceipt(text, {
          logKey: keyArg(ctx.flags['log-key'] as string),
          witnessKeys: listFlag(ctx.flags['witness-key']).map(keyArg),
          witnessQuorum: quorumOf(ctx),
        }),
      );
      const result = {
        verified: true,
        index: verified.index,
        treeSize: verified.checkpoint.size,
        origin: verified.checkpoint.origin,
        witnesses: verified.witnesses,
        entry: verified.entry,
      };
      if (ctx.flags.format) return result;
      ctx.out(
        `OK: entry ${verified.index} is in the tree of size ${verified.checkpoint.size} signed by ${verified.checkpoint.origin}` +
          (verified.witnesses.length > 0 ? `, cosigned by ${verified.witnesses.join(', ')}` : ''),
      );
      const e = verified.entry;
      ctx.out(`  ${e.time} ${e.kind} ${e.outcome} ${e.method}`);
      ctx.out(`  resource:  ${e.resource}`);
      ctx.out(`  principal: ${e.principal}`);
      for (const [k, v] of Object.entries(e.facts)) ctx.out(`  ${k}: ${String(v)}`);
      return undefined;
    },
  },
  {
    path: ['transparency', 'keygen'],
    summary: 'Creates a witness key: writes its signer key (0600) and prints its cosignature verifier key.',
    args: [{ name: 'NAME', required: true }],
    flags: { 'output-file': { type: 'string', required: true, description: 'Where to write the signer key.' } },
    async run(ctx) {
      const file = ctx.flags['output-file'] as string;
      if (existsSync(file)) throw new UsageError(`${file} exists; refusing to overwrite a key.`);
      const key = generateNoteKey(ctx.args.NAME as string);
      writeFileSync(file, `${key.signerKey}\n`, { mode: 0o600, flag: 'wx' });
      const cosigner = createCosigner(key);
      const result = { name: key.name, witnessKey: cosigner.verifierKey, file };
      if (ctx.flags.format) return result;
      ctx.out(cosigner.verifierKey);
      return undefined;
    },
  },
  {
    path: ['transparency', 'witness'],
    summary:
      'Witnesses a log: checks each new checkpoint is consistent with the last one it cosigned, then cosigns it.',
    flags: {
      log: { type: 'string', required: true, description: 'Base URL of the deployment whose log to witness.' },
      key: {
        type: 'string',
        required: true,
        description: 'File with the witness signer key (from `transparency keygen`).',
      },
      'log-key': { ...LOG_KEY, description: `${LOG_KEY.description} Default: pinned from the log on first contact.` },
      state: { type: 'string', description: 'State file (default: the key file + .state.json).' },
      once: { type: 'boolean', description: 'Check and cosign once, then exit.' },
      interval: { type: 'string', description: 'Seconds between checks (default 10).' },
    },
    async run(ctx) {
      const logUrl = String(ctx.flags.log).replace(/\/+$/, '');
      const keyFile = ctx.flags.key as string;
      const cosigner = createCosigner(readFileSync(keyFile, 'utf8').trim());
      const stateFile = (ctx.flags.state as string | undefined) ?? `${keyFile}.state.json`;
      const api = createApiClient(logUrl, ctx.config, ctx.flags.account as string | undefined);
      const intervalMs = Number((ctx.flags.interval as string | undefined) ?? '10') * 1000;
      if (!Number.isFinite(intervalMs) || intervalMs < 1000) throw new UsageError('--interval takes seconds (≥ 1).');
      let step = await witnessOnce(ctx, api, cosigner, stateFile);
      if (ctx.flags.once) return step;
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      for (;;) {
        const stopped = await Promise.race([stop.then(() => true), sleep(intervalMs).then(() => false)]);
        if (stopped) return step;
        step = await witnessOnce(ctx, api, cosigner, stateFile);
      }
    },
  },
];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

interface WitnessFile extends WitnessState {
  readonly logKey: string;
}

async function witnessOnce(
  ctx: CommandContext,
  api: ReturnType<typeof createApiClient>,
  cosigner: ReturnType<typeof createCosigner>,
  stateFile: string,
) {
  const previous = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as WitnessFile) : undefined;
  let logKey = ctx.flags['log-key'] === undefined ? previous?.logKey : keyArg(ctx.flags['log-key'] as string);
  if (logKey === undefined) {
    logKey = (await api.request<{ verifierKey: string }>('GET', '/v1/transparency/log-key', { anonymous: true }))
      .verifierKey;
    ctx.err(`Pinned the log key on first contact: ${logKey}`);
  }
  if (previous && previous.logKey !== logKey) throw new UsageError(`${stateFile} is the state of another log key.`);
  const verifier = parseVerifierKey(logKey);
  const note = await api.request<string>('GET', '/v1/transparency/checkpoint', { anonymous: true });
  const seen = await coded(() => openCheckpoint(note, verifier));
  const proof =
    previous && previous.size < seen.size
      ? (
          await api.request<{ hashes: string[] }>('GET', '/v1/transparency/proofs/consistency', {
            anonymous: true,
            query: { first: String(previous.size), second: String(seen.size) },
          })
        ).hashes.map((h) => Buffer.from(h, 'base64'))
      : [];
  let step: ReturnType<typeof witnessCheckpoint>;
  try {
    step = witnessCheckpoint({ note, logKey: verifier, previous, proof, cosigner });
  } catch (error) {
    // Keep the evidence: the checkpoint that broke consistency, next to the state that it contradicts.
    const evidence = `${stateFile}.evidence-${Date.now()}.txt`;
    writeFileAtomic(evidence, `${JSON.stringify(previous)}\n\n${note}`);
    ctx.err(`Kept the conflicting checkpoint in ${evidence}.`);
    return coded(() => {
      throw error;
    });
  }
  // Persisted before the cosignature leaves (C2SP tlog-witness): the witness never signs backwards.
  writeFileAtomic(stateFile, `${JSON.stringify({ ...step.state, logKey } satisfies WitnessFile, null, 2)}\n`);
  await api.request('POST', '/v1/transparency/cosignatures', {
    body: { checkpoint: note, cosignature: step.cosignature, witnessKey: cosigner.verifierKey },
  });
  ctx.err(`Cosigned ${step.checkpoint.origin} at size ${step.checkpoint.size}.`);
  return { origin: step.checkpoint.origin, size: step.checkpoint.size, root: step.state.root, witness: cosigner.name };
}
