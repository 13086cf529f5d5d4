// Runs `sealroom` and `sealroom-wordcount` command lines in-process, as one person at one terminal, printing each.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@sealroom/cli';
import { createOutboundClient, type OutboundFetch } from '@sealroom/outbound';
import { runWordcount } from '../cli/main.ts';
import { WordcountError } from '../errors.ts';

export interface CliSession {
  readonly env: NodeJS.ProcessEnv;
  /**
   * `sealroom ARGS`; returns stdout; throws with stderr on a non-zero exit. Prints the command and what it
   * said, unless `quiet` (neither) or `result: false` (the command only: its caller summarises the output).
   */
  sealroom(args: readonly string[], options?: { quiet?: boolean; result?: boolean }): Promise<string>;
  /** `sealroom-wordcount ARGS`; `quiet`: the command line is not printed (a retry of one already shown). */
  wordcount(args: readonly string[], options?: { quiet?: boolean }): Promise<string>;
  /** An access token of the active account. */
  accessToken(): Promise<string>;
  /** A REST call as the active account (for APIs the CLI has no command for yet). */
  rest(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
}

export function openCliSession(baseUrl: string, print: (line: string) => void, configDir?: string): CliSession {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: configDir ?? mkdtempSync(join(tmpdir(), 'sealroom-wordcount-')),
    SEALROOM_API: baseUrl,
  };
  delete env.SEALROOM_ACCESS_TOKEN;
  const show = (program: string, args: readonly string[]) =>
    print(
      `$ ${program} ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ')}`,
    );
  const session: CliSession = {
    env,
    async sealroom(args, options = {}) {
      if (!options.quiet) show('sealroom', args);
      let out = '';
      let err = '';
      const code = await runCli(args, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
      if (code !== 0)
        throw new WordcountError(
          'ERR_WORDCOUNT_SCENARIO',
          `sealroom ${args.join(' ')} failed (${code}): ${err.trim()}`,
        );
      if (!options.quiet && options.result !== false) showResult(print, err, out);
      return out.trim();
    },
    async wordcount(args, options = {}) {
      if (!options.quiet) show('sealroom-wordcount', args);
      let out = '';
      let err = '';
      const code = await runWordcount(args, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
      if (code !== 0)
        throw new WordcountError(
          'ERR_WORDCOUNT_SCENARIO',
          `sealroom-wordcount ${args[0]} failed (${code}): ${err.trim()}`,
        );
      return out.trim();
    },
    accessToken: () => session.sealroom(['auth', 'print-access-token'], { quiet: true }),
    async rest(method, path, body) {
      print(`$ # ${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`);
      const response = await serverFetch(baseUrl)(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${await session.accessToken()}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok)
        throw new WordcountError(
          'ERR_WORDCOUNT_SCENARIO',
          `${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`,
        );
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    },
  };
  return session;
}

/** The most lines of a command's result the transcript shows; the rest is counted. */
const RESULT_LINES = 6;

/** What a command said (status lines on stderr, then its output), indented under it, at most RESULT_LINES. */
export function showResult(print: (line: string) => void, stderr: string, stdout: string): void {
  const lines = `${stderr}\n${stdout}`.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return;
  const shown = lines
    .slice(0, RESULT_LINES)
    .map((line) => `  ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
  if (lines.length > RESULT_LINES) shown.push(`  … (${lines.length - RESULT_LINES} more lines)`);
  print(shown.join('\n'));
}

/** Requests to the scenario's server, which is trusted (the scenario was pointed at it); nothing else is. */
export function serverFetch(baseUrl: string): OutboundFetch {
  return createOutboundClient({ policy: { trustedOrigins: [baseUrl] } }).fetch;
}
