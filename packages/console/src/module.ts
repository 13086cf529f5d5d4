// The console as routes of the REST front end: the single-page app, its settings, the landing page, the docs,
// and the dev mode's one-time sign-in codes.
import { join } from 'node:path';
import { type Clock, CoreError, type Logger, resolveRepoRoot, type SqlDatabase } from '@sealroom/core';
import { type ApiRequest, type ApiRoute, parseWith, reply } from '@sealroom/transport';
import { z } from 'zod';
import {
  type ConsoleAssets,
  type ConsoleFile,
  IMMUTABLE,
  loadConsoleAssets,
  REVALIDATE,
  SECURITY_HEADERS,
} from './assets.ts';
import { ConsoleError } from './errors.ts';
import { loadDocs, renderLandingPage } from './landing.ts';
import { openSignInCodes } from './sign-in-codes.ts';

/** What the console hands a page that redeemed a sign-in code: the same shape as the dev login's answer. */
export interface UserCredential {
  readonly account: string;
  readonly refreshToken: string;
  readonly type: 'authorized_user';
}

export interface ConsoleOptions {
  readonly db: SqlDatabase;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dev: boolean;
  readonly universeDomain: string;
  /** Issues a user credential for a dev-mode sign-in (the server wires IAM's credential store). */
  readonly issueUserCredential: (email: string) => Promise<UserCredential>;
  /** Defaults to the package's own build. */
  readonly distDir?: string;
  /** The documentation served under /docs/; defaults to the repository's docs/ when there is one. */
  readonly docsDir?: string;
}

export interface ConsoleModule {
  readonly routes: readonly ApiRoute[];
  /** A link that signs `email` in once, within minutes; only in dev mode. The code rides in the fragment. */
  signInLink(baseUrl: string, email: string): Promise<string>;
}

const RedeemBody = z.object({ code: z.string().min(1).max(256) }).strict();
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function defaultDocsDir(): string | undefined {
  try {
    return join(resolveRepoRoot(), 'docs');
  } catch {
    return undefined;
  }
}

function serveFile(request: ApiRequest, file: ConsoleFile, cacheControl: string) {
  const headers = {
    ...SECURITY_HEADERS,
    'content-type': file.contentType,
    'cache-control': cacheControl,
    etag: file.etag,
  };
  if (request.headers['if-none-match'] === file.etag) return reply(undefined, 304, headers);
  return reply(file.body, 200, headers);
}

export async function createConsoleModule(options: ConsoleOptions): Promise<ConsoleModule> {
  const assets: ConsoleAssets | undefined = loadConsoleAssets(options.distDir);
  if (!assets) {
    options.logger.warn(
      {},
      'console: the built assets are missing; `npm ci` builds them (or `npm run build -w @sealroom/console`)',
    );
  }
  const docs = loadDocs(options.docsDir ?? defaultDocsDir());
  const codes = await openSignInCodes(options.db, options.clock);
  const landing = Buffer.from(renderLandingPage({ dev: options.dev, docs: [...docs.keys()] }));
  const settings = { dev: options.dev, universeDomain: options.universeDomain };
  const built = (): ConsoleAssets => {
    if (!assets) throw new ConsoleError('ERR_CONSOLE_NOT_BUILT', 'The console has not been built on this server.');
    return assets;
  };
  const html = (body: Buffer) =>
    reply(body, 200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': REVALIDATE });

  const routes: ApiRoute[] = [
    { method: 'GET', path: '/', auth: 'none', body: 'none', handler: async () => html(landing) },
    {
      method: 'GET',
      path: '/console',
      auth: 'none',
      body: 'none',
      handler: async () => reply('', 308, { location: '/console/', 'cache-control': REVALIDATE }),
    },
    {
      method: 'GET',
      path: '/console/',
      auth: 'none',
      body: 'none',
      handler: async (request) => serveFile(request, built().index, REVALIDATE),
    },
    {
      method: 'GET',
      path: '/console/assets/{file}',
      auth: 'none',
      body: 'none',
      handler: async (request) => {
        const file = built().assets.get(request.params.file as string);
        if (!file) throw new CoreError('ERR_NOT_FOUND', 'No such console asset.');
        return serveFile(request, file, IMMUTABLE);
      },
    },
    {
      method: 'GET',
      path: '/console/settings.json',
      auth: 'none',
      body: 'none',
      handler: async () => reply(settings, 200, { ...SECURITY_HEADERS, 'cache-control': REVALIDATE }),
    },
    {
      // Sealroom extension, dev mode only: trades a one-time code from a sign-in link for a user credential.
      method: 'POST',
      path: '/v1/console:redeemSignInCode',
      auth: 'none',
      handler: async (request) => {
        if (!options.dev)
          throw new ConsoleError('ERR_CONSOLE_DEV_ONLY', 'Sign-in links work only on a server started with --dev.');
        const { code } = parseWith(RedeemBody, request.body);
        const email = await codes.redeem(code);
        options.logger.warn({ account: email }, 'DEV LOGIN: account signed in with a one-time console link');
        return reply(await options.issueUserCredential(email), 200, NO_STORE);
      },
    },
    {
      method: 'GET',
      path: '/docs/',
      auth: 'none',
      body: 'none',
      handler: async () => html(landing),
    },
    {
      method: 'GET',
      path: '/docs/{file=**}',
      auth: 'none',
      body: 'none',
      handler: async (request) => {
        const doc = docs.get(request.params.file as string);
        if (!doc) throw new CoreError('ERR_NOT_FOUND', 'No such document on this server.');
        return reply(doc.body, 200, {
          ...SECURITY_HEADERS,
          'content-type': doc.contentType,
          'cache-control': REVALIDATE,
        });
      },
    },
  ];

  return {
    routes,
    async signInLink(baseUrl, email) {
      if (!options.dev)
        throw new ConsoleError('ERR_CONSOLE_DEV_ONLY', 'Sign-in links work only on a server started with --dev.');
      return `${baseUrl.replace(/\/$/, '')}/console/#sign-in=${await codes.mint(email)}`;
    },
  };
}
