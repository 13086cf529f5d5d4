import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreError, createFakeClock, createMemoryLogger, openSqliteDatabase } from '@sealroom/core';
import { buildRestApp } from '@sealroom/transport';
import { SIGN_IN_CODE_TTL_MS } from './index.ts';
import { createConsoleModule, type ConsoleOptions } from './module.ts';

const authenticator = {
  authenticate: async () => {
    throw new CoreError('ERR_UNAUTHENTICATED', 'no callers in this test');
  },
};

async function start(overrides: Partial<ConsoleOptions> = {}) {
  const db = openSqliteDatabase({ path: ':memory:' });
  const clock = createFakeClock();
  const issued: string[] = [];
  const module = await createConsoleModule({
    db,
    clock,
    logger: createMemoryLogger(),
    dev: true,
    universeDomain: 'googleapis.com',
    issueUserCredential: async (email) => {
      issued.push(email);
      return { account: email, refreshToken: `srr1.for-${email}`, type: 'authorized_user' };
    },
    ...overrides,
  });
  const app = await buildRestApp({ routes: module.routes, authenticator, logger: createMemoryLogger() });
  const close = async () => {
    await app.close();
    await db.close();
  };
  return { app, module, clock, issued, close };
}

describe('the console in a built state', () => {
  let dir: string;
  let t: Awaited<ReturnType<typeof start>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealroom-console-'));
    mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'dist', 'assets', 'app-ABC123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'dist', 'assets', 'app-ABC123.css'), 'body{}');
    mkdirSync(join(dir, 'docs', 'console'), { recursive: true });
    writeFileSync(join(dir, 'docs', 'kms.md'), '# KMS');
    writeFileSync(join(dir, 'docs', 'console', 'audit.png'), 'png');
    writeFileSync(join(dir, 'docs', 'secret.txt'), 'not served');
    t = await start({ distDir: join(dir, 'dist'), docsDir: join(dir, 'docs') });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the index is revalidated and the hashed assets are immutable, all under a strict CSP', async () => {
    const index = await t.app.inject({ method: 'GET', url: '/console/' });
    assert.equal(index.statusCode, 200);
    assert.equal(index.headers['cache-control'], 'no-cache');
    assert.match(String(index.headers['content-type']), /^text\/html/);
    const csp = String(index.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"])
      assert.ok(csp.includes(directive), directive);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    const again = await t.app.inject({
      method: 'GET',
      url: '/console/',
      headers: { 'if-none-match': String(index.headers.etag) },
    });
    assert.equal(again.statusCode, 304);
    const script = await t.app.inject({ method: 'GET', url: '/console/assets/app-ABC123.js' });
    assert.equal(script.statusCode, 200);
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    const redirect = await t.app.inject({ method: 'GET', url: '/console' });
    assert.equal(redirect.statusCode, 308);
    assert.equal(redirect.headers.location, '/console/');
    for (const url of ['/console/assets/app-XYZ.js', '/console/assets/%2e%2e%2findex.html'])
      assert.equal((await t.app.inject({ method: 'GET', url })).statusCode, url.includes('%2f') ? 400 : 404, url);
  });

  test('the landing page links the console, the docs and the discovery document; only listed docs are served', async () => {
    const landing = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(landing.statusCode, 200);
    for (const link of ['/console/', '/.well-known/openid-configuration', '/docs/kms.md'])
      assert.ok(landing.body.includes(`href="${link}"`), link);
    assert.ok(String(landing.headers['content-security-policy']).includes("frame-ancestors 'none'"));
    const doc = await t.app.inject({ method: 'GET', url: '/docs/kms.md' });
    assert.equal(doc.body, '# KMS');
    assert.equal(
      (await t.app.inject({ method: 'GET', url: '/docs/console/audit.png' })).headers['content-type'],
      'image/png',
    );
    assert.equal((await t.app.inject({ method: 'GET', url: '/docs/secret.txt' })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: '/docs/../package.json' })).statusCode, 404);
  });

  test('a sign-in code works once, within its lifetime, and rides in the fragment of its link', async () => {
    const link = await t.module.signInLink('http://127.0.0.1:8080/', 'Alice@Example.com');
    const match = /^http:\/\/127\.0\.0\.1:8080\/console\/#sign-in=(srs1\.[A-Za-z0-9_-]{43})$/.exec(link);
    assert.ok(match, link);
    const redeem = (code: string) =>
      t.app.inject({ method: 'POST', url: '/v1/console:redeemSignInCode', payload: { code } });
    const first = await redeem(match[1] as string);
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), {
      account: 'alice@example.com',
      refreshToken: 'srr1.for-alice@example.com',
      type: 'authorized_user',
    });
    assert.equal(first.headers['cache-control'], 'no-store');
    const second = await redeem(match[1] as string);
    assert.equal(second.statusCode, 401);
    assert.equal(second.json().error.details[0].reason, 'ERR_CONSOLE_SIGN_IN_CODE');
    const late = /#sign-in=(.+)$/.exec(await t.module.signInLink('http://h', 'bob@example.com'))?.[1] as string;
    t.clock.advance(SIGN_IN_CODE_TTL_MS + 1);
    assert.equal((await redeem(late)).statusCode, 401);
    assert.equal((await redeem('srs1.guessed')).statusCode, 401);
    assert.equal((await redeem('x'.repeat(300))).statusCode, 400);
    assert.deepEqual(t.issued, ['alice@example.com']);
  });
});

test('without a build the console answers 503, and without dev mode there are no sign-in links', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-console-'));
  const t = await start({ dev: false, distDir: join(dir, 'missing'), docsDir: join(dir, 'missing') });
  try {
    const index = await t.app.inject({ method: 'GET', url: '/console/' });
    assert.equal(index.statusCode, 503);
    assert.equal(index.json().error.details[0].reason, 'ERR_CONSOLE_NOT_BUILT');
    await assert.rejects(t.module.signInLink('http://h', 'a@example.com'), /--dev/);
    const redeem = await t.app.inject({
      method: 'POST',
      url: '/v1/console:redeemSignInCode',
      payload: { code: 'srs1.anything' },
    });
    assert.equal(redeem.statusCode, 400);
    assert.equal(redeem.json().error.details[0].reason, 'ERR_CONSOLE_DEV_ONLY');
    assert.deepEqual(t.issued, []);
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
