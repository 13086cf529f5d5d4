// The collaborator's own session: the Sealroom API URL and an access token of the active `sealroom` account.
import { runCli } from '@sealroom/cli';
import { createOutboundClient, type OutboundFetch } from '@sealroom/outbound';
import { DEFAULT_API_URL } from './defaults.ts';
import { WordcountError } from '../errors.ts';

export interface UserSession {
  readonly api: string;
  readonly accessToken: string;
  /** Fetch under the outbound policy: the API the user chose is trusted, anywhere else held to the strict rules. */
  readonly fetch: OutboundFetch;
}

async function capture(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  if (code !== 0)
    throw new WordcountError('ERR_WORDCOUNT_REQUEST_FAILED', `sealroom ${argv.join(' ')} failed: ${err.trim()}`);
  return out.trim() || undefined;
}

/** `--api`, else SEALROOM_API, else the active configuration; token from SEALROOM_ACCESS_TOKEN or the CLI's login. */
export async function openUserSession(apiFlag: string | undefined, env: NodeJS.ProcessEnv): Promise<UserSession> {
  const api = (
    apiFlag ||
    env.SEALROOM_API ||
    (await capture(['config', 'get-value', 'api'], env)) ||
    DEFAULT_API_URL
  ).replace(/\/+$/, '');
  const accessToken =
    env.SEALROOM_ACCESS_TOKEN || (await capture(['auth', 'print-access-token', '--api', api], env)) || '';
  if (!accessToken)
    throw new WordcountError('ERR_WORDCOUNT_NOT_SIGNED_IN', 'no access token: run `sealroom auth login EMAIL` first');
  return { api, accessToken, fetch: createOutboundClient({ policy: { trustedOrigins: [api] } }).fetch };
}
