// The console in Debian's Chromium against a real `sealroom serve`: each party of the seed scenario signs
// in and sees what its credentials allow and no more; the playground turns a failing clause green; the
// serial console follows a boot live; no token ever lands in storage or a URL.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolveSharedDir, silentLogger } from '@sealroom/core';
import { resolveServerConfig, startServer } from '@sealroom/server';
import { SignJWT } from 'jose';
import type { Browser, Page, Request } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../support/browser.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const skip = chromiumMissing();
const SUFFIX = randomBytes(3).toString('hex');
const ISSUER = 'https://verifier.example';
const DIGEST = `sha256:${'a7'.repeat(32)}`;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const JWKS = JSON.stringify({
  keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
});
const PARTIES = {
  builder: { email: 'builder@builder.example', project: `builder-${SUFFIX}` },
  operator: { email: 'admin@operator.example', project: `operator-${SUFFIX}` },
  c1: { email: 'alice@collaborator1.example', project: `collaborator-1-${SUFFIX}` },
  c2: { email: 'bob@collaborator2.example', project: `collaborator-2-${SUFFIX}` },
} as const;
const CONDITION =
  "assertion.swname == 'CONFIDENTIAL_SPACE' &&\n  assertion.submods.container.image_digest == '" + DIGEST + "'";

let server: ServerProcess;
let browser: Browser;
const numbers: Record<string, string> = {};
/** Every credential the test saw, so it can look for any of them where none may be. */
const secrets: string[] = [];

async function signIn(email: string): Promise<string> {
  const login = await fetch(`${server.url}/v1/dev:login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  const { refreshToken } = (await login.json()) as { refreshToken: string };
  const token = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  const { access_token } = (await token.json()) as { access_token: string };
  secrets.push(refreshToken, access_token);
  return access_token;
}

async function api(token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function attestationToken(overrides: Record<string, unknown>): Promise<string> {
  const claims = JSON.parse(readFileSync(join(resolveSharedDir(), 'contracts', 'token-claims.example.json'), 'utf8'));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims, ...overrides, iss: ISSUER, iat: now - 10, nbf: now - 10, exp: now + 3000 })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
    .sign(privateKey);
}

async function exchange(projectNumber: string, subjectToken: string): Promise<Response> {
  return fetch(`${server.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: `//iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/pool/providers/verifier`,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }).toString(),
  });
}

/** A collaborator's project as in the seed: a pool whose provider admits one image digest, and a key bound to it. */
async function setUpCollaborator(party: { email: string; project: string }): Promise<void> {
  const token = await signIn(party.email);
  const project = (await api(token, 'POST', '/v1/projects', { projectId: party.project })).response as {
    projectNumber: string;
  };
  numbers[party.project] = project.projectNumber;
  const pools = `/v1/projects/${party.project}/locations/global/workloadIdentityPools`;
  await api(token, 'POST', `${pools}?workloadIdentityPoolId=pool`, {});
  await api(token, 'POST', `${pools}/pool/providers?workloadIdentityPoolProviderId=verifier`, {
    oidc: { issuerUri: ISSUER, allowedAudiences: ['https://sts.googleapis.com'], jwksJson: JWKS },
    attributeMapping: {
      'google.subject': 'assertion.sub',
      'attribute.image_digest': 'assertion.submods.container.image_digest',
    },
    attributeCondition: CONDITION,
  });
  const ring = `/v1/projects/${party.project}/locations/global/keyRings`;
  await api(token, 'POST', `${ring}?keyRingId=kr1`, {});
  await api(token, 'POST', `${ring}/kr1/cryptoKeys?cryptoKeyId=key1`, { purpose: 'ENCRYPT_DECRYPT' });
  const key = `projects/${party.project}/locations/global/keyRings/kr1/cryptoKeys/key1`;
  const policy = await api(token, 'GET', `/v1/${key}:getIamPolicy`);
  const member = `principalSet://iam.googleapis.com/projects/${project.projectNumber}/locations/global/workloadIdentityPools/pool/attribute.image_digest/${DIGEST}`;
  await api(token, 'POST', `/v1/${key}:setIamPolicy`, {
    policy: {
      ...policy,
      bindings: [
        { role: 'roles/cloudkms.cryptoKeyDecrypter', members: [member] },
        { role: 'roles/cloudkms.cryptoKeyEncrypter', members: [`user:${party.email}`] },
      ],
    },
  });
  const { ciphertext } = (await api(token, 'POST', `/v1/${key}:encrypt`, {
    plaintext: Buffer.from(`data of ${party.project}`).toString('base64'),
  })) as { ciphertext: string };
  // The workload: one refused exchange (a GCE token), then a granted one and the key release.
  assert.equal((await exchange(project.projectNumber, await attestationToken({ swname: 'GCE' }))).status, 400);
  const granted = await exchange(project.projectNumber, await attestationToken({}));
  const { access_token } = (await granted.json()) as { access_token: string };
  secrets.push(access_token);
  const plain = (await api(access_token, 'POST', `/v1/${key}:decrypt`, { ciphertext })) as { plaintext: string };
  assert.equal(Buffer.from(plain.plaintext, 'base64').toString(), `data of ${party.project}`);
}

/** The operator's project with an instance whose image cannot be pulled: it boots, says why on serial, stops. */
async function setUpOperator(): Promise<void> {
  const { email, project } = PARTIES.operator;
  const token = await signIn(email);
  await api(token, 'POST', '/v1/projects', { projectId: project });
  await api(token, 'POST', `/v1/projects/${project}/serviceAccounts`, { accountId: 'runner' });
  const instances = `/compute/v1/projects/${project}/zones/us-central1-a/instances`;
  await api(token, 'POST', instances, {
    name: 'vm1',
    disks: [{ boot: true, initializeParams: { sourceImage: 'projects/x/global/images/family/confidential-space' } }],
    serviceAccounts: [{ email: `runner@${project}.iam.gserviceaccount.com` }],
    metadata: {
      items: [
        {
          key: 'tee-image-reference',
          value: `127.0.0.1:${server.port}/${PARTIES.builder.project}/repo1/gone@${DIGEST}`,
        },
        { key: 'tee-restart-policy', value: 'Never' },
      ],
    },
  });
  for (let i = 0; i < 300; i++) {
    if ((await api(token, 'GET', `${instances}/vm1`)).status === 'TERMINATED') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('the instance did not stop after its pull failed');
}

/** A fresh browser context (its own memory), signed in through the console's dev login form. */
async function openAs(email: string): Promise<{ page: Page; requests: Request[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests: Request[] = [];
  page.on('request', (r) => requests.push(r));
  await page.goto(`${server.url}/console/`);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('account').filter({ hasText: email }).waitFor();
  return { page, requests };
}

/** Nothing the page keeps or asks for carries a credential, and it talks to nobody but the server. */
async function assertNoTokenLeaks(page: Page, requests: readonly Request[]): Promise<void> {
  const kept = await page.evaluate(async () => {
    // The page's globals, typed here because the tests compile without the DOM library.
    const w = globalThis as unknown as {
      localStorage: { length: number };
      sessionStorage: { length: number };
      document: { cookie: string };
      indexedDB: { databases(): Promise<unknown[]> };
      location: { href: string };
    };
    return {
      local: w.localStorage.length,
      session: w.sessionStorage.length,
      cookie: w.document.cookie,
      databases: (await w.indexedDB.databases()).length,
      url: w.location.href,
    };
  });
  assert.deepEqual({ ...kept, url: undefined }, { local: 0, session: 0, cookie: '', databases: 0, url: undefined });
  const origin = new URL(server.url).origin;
  for (const url of [kept.url, ...requests.map((r) => r.url())]) {
    assert.ok(url.startsWith(`${origin}/`) || url.startsWith('data:'), `a request left the server: ${url}`);
    assert.ok(!/sr1\.|srr1\.|srs1\./.test(url), `a credential in a URL: ${url.slice(0, 80)}`);
    for (const secret of secrets) assert.ok(!url.includes(secret), 'a known credential in a URL');
  }
}

describe('the console in a browser', { skip, timeout: 180_000 }, () => {
  before(async () => {
    server = await startServerProcess();
    browser = await launchChromium();
    await Promise.all([setUpCollaborator(PARTIES.c1), setUpCollaborator(PARTIES.c2), setUpOperator()]);
    const builder = await signIn(PARTIES.builder.email);
    await api(builder, 'POST', '/v1/projects', { projectId: PARTIES.builder.project });
    await api(
      builder,
      'POST',
      `/v1/projects/${PARTIES.builder.project}/locations/us-central1/repositories?repositoryId=repo1`,
      {
        format: 'DOCKER',
      },
    );
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });

  test('a collaborator sees its own key releases and exchanges, and nothing of the other collaborator', async () => {
    const { page, requests } = await openAs(PARTIES.c1.email);
    await page.getByTestId('key-use').first().waitFor();
    // Each row names the federated principal in full in its title, and compactly in its text.
    const uses = await page
      .getByTestId('key-use')
      .evaluateAll((rows) =>
        rows.map((r) => `${r.textContent} ${r.querySelector('td[title]')?.getAttribute('title')}`),
      );
    const mine = `projects/${numbers[PARTIES.c1.project]}/locations/global/workloadIdentityPools/pool/subject/`;
    assert.ok(
      uses.some((u) => u.includes('Decrypt') && u.includes(mine) && u.includes(DIGEST)),
      uses.join('\n'),
    );
    const refused = page.getByTestId('exchange').filter({ hasText: 'refused' });
    await refused.first().waitFor();
    assert.match(await refused.first().innerText(), /Failing clause: assertion\.swname == 'CONFIDENTIAL_SPACE'/);
    const text = await page.locator('body').innerText();
    for (const other of [PARTIES.c2.project, numbers[PARTIES.c2.project] as string])
      assert.ok(!text.includes(other), `collaborator-1 sees ${other}`);
    const projects = await page.locator('#project-picker option').allInnerTexts();
    assert.deepEqual(projects, [PARTIES.c1.project]);
    // Asking for the other project by its address shows nothing of it either.
    await page.goto(`${server.url}/console/#/collaborator/${PARTIES.c2.project}`);
    await page.getByRole('heading', { name: `Collaborator: ${PARTIES.c1.project}` }).waitFor();
    await assertNoTokenLeaks(page, requests);
    await page.context().close();
  });

  test('the playground turns the failing clause green after an edit, without saving it', async () => {
    const { page, requests } = await openAs(PARTIES.c1.email);
    const source = page.getByLabel('Token', { exact: true });
    await page.getByTestId('exchange').filter({ hasText: 'refused' }).first().waitFor();
    const offered = await source.locator('option').allInnerTexts();
    assert.equal(offered.filter((o) => o.startsWith('Claims of the exchange')).length, 2, offered.join('\n'));
    // The newest exchange was the granted one; the refused (GCE) token is the second recorded one.
    await source.selectOption({ index: 2 });
    const playground = page.locator('section', { has: page.getByRole('heading', { name: 'Policy playground' }) });
    await playground.getByRole('button', { name: 'Evaluate' }).click();
    const first = playground.getByTestId('clause').first();
    await first.waitFor();
    assert.equal(await first.getAttribute('data-outcome'), 'false');
    const condition = playground.getByLabel('Attribute condition (CEL over assertion)');
    await condition.fill(CONDITION.replace("'CONFIDENTIAL_SPACE'", "'GCE'"));
    await playground.getByRole('button', { name: 'Evaluate' }).click();
    await playground.locator('[data-testid="clause"][data-outcome="true"]').nth(1).waitFor();
    assert.deepEqual(
      await playground.getByTestId('clause').evaluateAll((els) => els.map((e) => e.getAttribute('data-outcome'))),
      ['true', 'true'],
    );
    assert.match(await playground.getByTestId('explanation').innerText(), /draft, not saved/);
    assert.match(await page.getByTestId('saved-condition').innerText(), /'CONFIDENTIAL_SPACE'/);
    await playground.getByTestId('key-match').first().waitFor();
    assert.match(await playground.getByTestId('key-match').first().innerText(), /cryptoKeyDecrypter/);
    await assertNoTokenLeaks(page, requests);
    await page.context().close();
  });

  test("the operator's serial console follows a boot live, and the audit chain verifies", async () => {
    const { page, requests } = await openAs(PARTIES.operator.email);
    await page.getByRole('link', { name: 'Operator' }).click();
    const serial = page.getByTestId('serial');
    await serial.filter({ hasText: 'power on' }).waitFor();
    const before = (await serial.innerText()).split('sealroom: power on').length - 1;
    await page.getByRole('button', { name: 'Start' }).click();
    // The page is not reloaded: the new boot's lines arrive over the open event stream.
    await serial
      .filter({ hasText: new RegExp(`(sealroom: power on[\\s\\S]*){${before + 1}}`) })
      .waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByTestId('chain-status').filter({ hasText: 'verified' }).waitFor();
    // The chain status and the entries arrive in separate responses: wait for the entries to render.
    const timeline = page.locator('.timeline');
    await timeline.filter({ hasText: 'compute.instances.start' }).waitFor({ timeout: 15_000 });
    assert.match(await timeline.innerText(), /compute\.instances\.start/);
    await assertNoTokenLeaks(page, requests);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').waitFor();
    await page.context().close();
  });

  test('the builder sees its repository, and the console is served with a strict policy', async () => {
    const { page, requests } = await openAs(PARTIES.builder.email);
    await page.getByRole('link', { name: 'Builder' }).click();
    await page.getByRole('heading', { name: 'repo1' }).waitFor();
    const index = requests.find((r) => r.url() === `${server.url}/console/`);
    const headers = (await index?.response())?.headers() ?? {};
    assert.match(headers['content-security-policy'] ?? '', /script-src 'self'; style-src 'self'/);
    assert.equal(headers['cache-control'], 'no-cache');
    const script = requests.find((r) => /\/console\/assets\/app-[A-Z0-9]+\.js$/.test(r.url()));
    assert.equal((await script?.response())?.headers()['cache-control'], 'public, max-age=31536000, immutable');
    await assertNoTokenLeaks(page, requests);
    await page.context().close();
  });
});

describe('a one-time sign-in link', { skip, timeout: 60_000 }, () => {
  test('signs its party in once, and leaves the address bar and the history without its code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealroom-console-link-'));
    const running = await startServer(
      resolveServerConfig({ port: 0, grpcPort: -1, stateDir: dir, dev: true, only: [] }, {}),
      { logger: silentLogger, services: [] },
    );
    const chromium = await launchChromium();
    try {
      const link = await running.signInLink('carol@collaborator1.example');
      const page = await (await chromium.newContext()).newPage();
      await page.goto(link);
      await page.getByTestId('account').filter({ hasText: 'carol@collaborator1.example' }).waitFor();
      assert.equal(page.url(), `${running.url}/console/`);
      await page.goBack().catch(() => undefined);
      assert.ok(!page.url().includes('sign-in='), 'the history keeps no code');
      const again = await (await chromium.newContext()).newPage();
      await again.goto(link);
      await again.getByRole('alert').filter({ hasText: 'unknown, used or expired' }).waitFor();
      await again.getByLabel('Email').waitFor();
    } finally {
      await chromium.close();
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
