// `sealroom auth …` and `sealroom admin users create`: sign in, print tokens, issue user credentials.
import { readFileSync, writeFileSync } from 'node:fs';
import { type CommandSpec, UsageError } from '../command.ts';

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
    async run(ctx) {
      const active = ctx.config.current.core?.account;
      return ctx.config.listCredentials().map((account) => ({ account, active: account === active }));
    },
  },
  {
    path: ['admin', 'users', 'create'],
    summary: 'Issues a credential for a user (deployment administrators only).',
    args: [{ name: 'EMAIL', required: true }],
    flags: {
      'output-file': { type: 'string', required: true, description: 'Where to write the credential (mode 0600).' },
    },
    async run(ctx) {
      const result = await ctx.api.request<{ account: string; refreshToken: string }>('POST', '/v1/admin/users', {
        body: { email: ctx.args.EMAIL },
      });
      const path = ctx.flags['output-file'] as string;
      writeFileSync(
        path,
        `${JSON.stringify({ type: 'authorized_user', account: result.account, refresh_token: result.refreshToken }, null, 2)}\n`,
        { mode: 0o600 },
      );
      ctx.err(`Credential for [${result.account}] written to [${path}]; hand it over privately.`);
      return undefined;
    },
  },
];
