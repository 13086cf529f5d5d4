// `sealroom auth …`: sign in, print tokens, list and revoke the stored credentials.
import { readFileSync } from 'node:fs';
import { ApiError } from '../api-client.ts';
import { type CommandContext, type CommandSpec, UsageError } from '../command.ts';

interface CredentialFile {
  type?: string;
  account?: string;
  refresh_token?: string;
}

export const authCommands: CommandSpec[] = [
  {
    path: ['auth', 'login'],
    summary: 'Signs in: EMAIL on a --dev server, or --cred-file with a credential an administrator issued.',
    args: [{ name: 'EMAIL' }],
    flags: {
      'cred-file': { type: 'string', description: 'A credential file (authorized_user JSON) to sign in with.' },
    },
    async run(ctx) {
      const file = ctx.flags['cred-file'] as string | undefined;
      let account: string;
      let refreshToken: string;
      if (file) {
        let parsed: CredentialFile;
        try {
          parsed = JSON.parse(readFileSync(file, 'utf8')) as CredentialFile;
        } catch {
          throw new UsageError(`Cannot read the credential file [${file}] as JSON.`);
        }
        if (parsed.type !== 'authorized_user' || !parsed.account || !parsed.refresh_token) {
          throw new UsageError(`The credential file [${file}] is not an authorized_user credential.`);
        }
        account = parsed.account;
        refreshToken = parsed.refresh_token;
      } else {
        const email = ctx.args.EMAIL as string | undefined;
        if (!email) throw new UsageError('Give the account EMAIL (dev servers) or --cred-file FILE.');
        const result = await ctx.api.request<{ account: string; refreshToken: string }>('POST', '/v1/dev:login', {
          anonymous: true,
          body: { email },
        });
        account = result.account;
        refreshToken = result.refreshToken;
        ctx.err('WARNING: dev login — the server accepted this account without any proof of identity.');
      }
      ctx.config.saveCredential({
        type: 'authorized_user',
        account,
        refresh_token: refreshToken,
        api: ctx.api.baseUrl,
      });
      const name = ctx.config.currentName;
      const current = ctx.config.read(name);
      ctx.config.write(name, { ...current, core: { ...current.core, account } });
      ctx.err(`You are now logged in as [${account}].`);
      return undefined;
    },
  },
  {
    path: ['auth', 'print-access-token'],
    summary: 'Prints an access token for the active account.',
    async run(ctx) {
      ctx.out(await ctx.api.accessToken());
      return undefined;
    },
  },
  {
    path: ['auth', 'list'],
    summary: 'Lists the accounts with stored credentials.',
    defaultFormat: 'table(active, account)',
    async run(ctx) {
      const active = ctx.config.current.core?.account;
      return ctx.config.listCredentials().map((account) => ({ account, active: account === active }));
    },
  },
  {
    path: ['auth', 'revoke'],
    summary:
      'Revokes the credentials of ACCOUNTS (default: the active account) at the server and forgets them here; access tokens obtained with them stop at once.',
    args: [{ name: 'ACCOUNTS', variadic: true }],
    flags: { all: { type: 'boolean', description: 'Revoke every stored credential.' } },
    async run(ctx) {
      const named = (ctx.args.ACCOUNTS as readonly string[] | undefined) ?? [];
      const accounts =
        ctx.flags.all === true ? ctx.config.listCredentials() : named.length > 0 ? [...named] : [ctx.api.account()];
      if (accounts.length === 0) throw new UsageError('No credentials to revoke.');
      for (const account of accounts) await revokeAccount(ctx, account);
      const active = ctx.config.current.core?.account;
      if (active && accounts.includes(active)) {
        const { account: _gone, ...core } = ctx.config.current.core ?? {};
        ctx.config.write(ctx.config.currentName, { ...ctx.config.current, core });
      }
      ctx.err(`Revoked credentials:\n${accounts.map((a) => ` - ${a}`).join('\n')}`);
      return undefined;
    },
  },
];

/** RFC 7009 revocation of the stored refresh token at the server that issued it, then the local copy. */
async function revokeAccount(ctx: CommandContext, account: string): Promise<void> {
  const credential = ctx.config.loadCredential(account);
  if (!credential) throw new UsageError(`No credentials available to revoke for [${account}].`);
  const api = (credential.api || ctx.api.baseUrl).replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${api}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: credential.refresh_token }).toString(),
    });
  } catch {
    throw new ApiError(0, `Cannot reach the Sealroom server at ${api} to revoke [${account}]; nothing was removed.`);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    // Already revoked (or unknown there): nothing is left to revoke, so the local copy goes too.
    if (body.error !== 'invalid_token') {
      throw new ApiError(
        response.status,
        `Revoking [${account}] failed: HTTP ${response.status} ${body.error ?? ''}`.trim(),
      );
    }
    ctx.err(`WARNING: the server no longer knew the credential of [${account}] (already revoked).`);
  }
  ctx.config.removeCredential(account);
}
