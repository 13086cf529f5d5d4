// `sealroom host …`: enrolment tokens and the host list (administrators), join and run (on the host itself).
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { joinDeployment, launcherBuildDigest, readHostState, startHostRunner } from '@sealroom/compute';
import { createOutboundClient } from '@sealroom/outbound';
import { createPinoLogger } from '@sealroom/server';
import type { CommandContext, CommandSpec } from '../command.ts';
import { UsageError } from '../errors.ts';

const STATE_DIR_FLAG = {
  type: 'string',
  description: 'The host state directory (default SEALROOM_HOST_STATE_DIR, else ./.sealroom-host).',
} as const;

const TPM_FLAG = {
  type: 'string',
  description:
    'The TPM that seals the host key: /dev/tpmrm0 (the default when present), tcp://HOST:PORT of a simulator, or none (a 0600 file key); SEALROOM_HOST_TPM.',
} as const;

const tpmOf = (ctx: CommandContext): { tpm?: string } => {
  const tpm = (ctx.flags.tpm as string | undefined) ?? ctx.env.SEALROOM_HOST_TPM;
  return tpm === undefined || tpm === '' ? {} : { tpm };
};

const stateDirOf = (ctx: CommandContext) =>
  (ctx.flags['state-dir'] as string | undefined) ?? ctx.env.SEALROOM_HOST_STATE_DIR ?? '.sealroom-host';

/** `1h`, `30m`, `90s` or a number of seconds. */
function parseTtl(text: string): number {
  const match = /^([0-9]+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new UsageError(`--ttl: expected a duration such as 3600s, 30m, 1h or 2d, got '${text}'.`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The token from a file (`-` is stdin), never from the command line outside development. */
function readToken(ctx: CommandContext): string {
  const file = ctx.flags['token-file'] as string | undefined;
  const inline = ctx.flags.token as string | undefined;
  if (file !== undefined && inline !== undefined) throw new UsageError('Give --token-file or --token, not both.');
  if (file !== undefined) return readFileSync(file === '-' ? 0 : file, 'utf8').trim();
  if (inline !== undefined) {
    ctx.err('WARNING: --token puts the enrolment token in the process list and shell history; use --token-file.');
    return inline.trim();
  }
  throw new UsageError('An enrolment token is required: --token-file FILE (or - for stdin).');
}

export const hostCommands: CommandSpec[] = [
  {
    path: ['host', 'tokens', 'create'],
    summary: 'Issues a single-use enrolment token for a host of a pool (deployment administrators only).',
    flags: {
      pool: { type: 'string', required: true, description: 'The pool (a zone name) the host will serve.' },
      ttl: { type: 'string', description: 'How long the token stays valid: 3600s, 30m, 1h, 2d (default 1h).' },
      'output-file': {
        type: 'string',
        description: 'Write the token to this file (mode 0600) instead of printing it.',
      },
    },
    async run(ctx) {
      const ttl = ctx.flags.ttl === undefined ? undefined : parseTtl(ctx.flags.ttl as string);
      const result = await ctx.api.request<{ token: string; pool: string; expireTime: string }>(
        'POST',
        '/v1/admin/hostTokens',
        { body: { pool: ctx.flags.pool, ...(ttl === undefined ? {} : { ttlSeconds: ttl }) } },
      );
      const file = ctx.flags['output-file'] as string | undefined;
      if (file === undefined) return result;
      writeFileSync(file, `${result.token}\n`, { mode: 0o600 });
      ctx.err(
        `Enrolment token for pool [${result.pool}] written to [${file}]; it works once, until ${result.expireTime}.`,
      );
      return { pool: result.pool, expireTime: result.expireTime };
    },
  },
  {
    path: ['host', 'list'],
    summary: 'Lists the joined hosts: pool, whether connected, last seen, instances (deployment administrators only).',
    defaultFormat: 'table(name, pool, connected, lastSeen, instances)',
    async run(ctx) {
      return (await ctx.api.request<{ hosts?: unknown[] }>('GET', '/v1/admin/hosts')).hosts ?? [];
    },
  },
  {
    path: ['host', 'join'],
    summary: 'Joins this machine to a deployment as a host: a key, a CSR with the enrolment token, a certificate.',
    flags: {
      'token-file': { type: 'string', description: 'A file holding the enrolment token; - reads it from stdin.' },
      token: { type: 'string', description: 'The token itself (development only: it shows in the process list).' },
      name: { type: 'string', description: "The host's name (default: this machine's host name)." },
      'state-dir': STATE_DIR_FLAG,
      tpm: TPM_FLAG,
      'insecure-enrolment': {
        type: 'boolean',
        description: 'Allow an http --api URL: the token then crosses the network in clear (development only).',
      },
    },
    async run(ctx) {
      const token = readToken(ctx);
      const api = ctx.api.baseUrl;
      const insecureEnrolment = ctx.flags['insecure-enrolment'] === true;
      if (insecureEnrolment && new URL(api).protocol !== 'https:')
        ctx.err(
          "WARNING: --insecure-enrolment: the enrolment token goes to the control plane in clear; anyone who sees it can join in this host's place until it is redeemed.",
        );
      const name =
        (ctx.flags.name as string | undefined) ??
        hostname()
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-');
      const state = await joinDeployment({
        api,
        token,
        name,
        stateDir: stateDirOf(ctx),
        outbound: createOutboundClient(),
        insecureEnrolment,
        ...tpmOf(ctx),
      });
      ctx.err(`Joined [${api}] as host [${state.name}] of pool [${state.pool}]; run \`sealroom host run\` to serve.`);
      return { name: state.name, pool: state.pool, channelEndpoint: state.channelEndpoint };
    },
  },
  {
    path: ['host', 'run'],
    summary: "Runs this host's agent until SIGINT/SIGTERM: boots the instances the control plane places here.",
    flags: {
      'state-dir': STATE_DIR_FLAG,
      tpm: TPM_FLAG,
      'grace-seconds': {
        type: 'string',
        description: 'SIGTERM to SIGKILL grace when stopping a workload (default 10).',
      },
      'log-level': { type: 'string', description: 'debug, info (default), warn or error.' },
      network: {
        type: 'string',
        description:
          'Instance networking: `auto` (default; its own network namespace where the host can), `isolated` (never boot without one) or `host` (the host network).',
      },
    },
    async run(ctx) {
      const stateDir = stateDirOf(ctx);
      const network = (ctx.flags.network as string | undefined) ?? 'auto';
      if (network !== 'auto' && network !== 'isolated' && network !== 'host')
        throw new UsageError(`--network must be auto, isolated or host, not ${JSON.stringify(network)}`);
      const logger = createPinoLogger(((ctx.flags['log-level'] as string | undefined) ?? 'info') as 'info');
      const state = await readHostState(stateDir, { logger, ...tpmOf(ctx) });
      const grace = ctx.flags['grace-seconds'] as string | undefined;
      const runner = await startHostRunner({
        stateDir,
        logger,
        outbound: createOutboundClient(),
        launcherBuild: launcherBuildDigest(),
        network,
        ...tpmOf(ctx),
        ...(grace === undefined ? {} : { graceMs: Number(grace) * 1000 }),
      });
      ctx.out(`Host [${state.name}] of pool [${state.pool}] connecting to ${state.channelEndpoint}. Ctrl-C stops it.`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          ctx.err(`${signal}: stopping this host's instances (SIGTERM, then SIGKILL after the grace period)…`);
          runner.close().then(resolve, resolve);
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      });
      ctx.err('Host agent stopped.');
      return undefined;
    },
  },
];
