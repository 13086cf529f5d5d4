// One boot against the real verifier (over HTTP on 127.0.0.1) on a soft platform: the token's claims are the launch.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootSoftPlatform, createPlatformCa } from '@sealroom/attest';
import { createFakeClock, createMemoryLogger } from '@sealroom/core';
import { createIamTestContext } from '@sealroom/iam';
import { buildRestApp } from '@sealroom/transport';
import { createVerifierModule, parseVerifierConfig } from '@sealroom/verifier';
import { SignJWT, createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { runLaunch } from './launch.ts';
import type { ContainerRuntime } from './runtime/types.ts';
import { createFakeTimers } from './timers.ts';
import { TOKEN_FILE_NAME } from './token-refresher.ts';
import { createVerifierTokenSource } from './verifier-client.ts';

// biome-ignore lint/suspicious/noExplicitAny: token claims are read as loose JSON in tests
type Json = any;
const DIGEST = `sha256:${'d'.repeat(64)}`;
const LAUNCHER_BUILD = `sha256:${'1'.repeat(64)}`;
const SA_EMAIL = 'operator-sa@operator-project.iam.gserviceaccount.com';

/** The verifier as `sealroom serve` hosts it, over an IAM test context in dev mode (soft platform CA trusted). */
async function startVerifier() {
  const clock = createFakeClock(Date.UTC(2026, 5, 1));
  const t = await createIamTestContext({ clock, dev: true, baseUrl: 'http://127.0.0.1:8080' });
  await t.createUser('owner@example.com');
  const project = await t.createProject('operator-project', 'owner@example.com');
  const workload = await t.createUser('workload@example.com');
  await t.grant('projects/operator-project', 'roles/confidentialcomputing.workloadUser', 'user:workload@example.com');
  const ca = createPlatformCa(clock.now());
  const saKeys = await generateKeyPair('RS256');
  const saJwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(saKeys.publicKey)), kid: 'sa1', alg: 'RS256' }] });
  const module = await createVerifierModule(t.context, {
    config: parseVerifierConfig({}),
    softPlatformCa: ca.certificate,
    serviceAccountKeys: saJwks,
  });
  const app = await buildRestApp({
    routes: module.routes,
    authenticator: t.context.authenticator,
    logger: t.context.logger,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const signSaToken = async (audience: string) => {
    const now = Math.floor(clock.now() / 1000);
    return new SignJWT({ email: SA_EMAIL, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: 'sa1' })
      .setIssuer('http://127.0.0.1:8080/accounts')
      .setAudience(audience)
      .setSubject('112233445566778899')
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(saKeys.privateKey);
  };
  return {
    app,
    clock,
    ca,
    projectNumber: project.projectNumber,
    workloadToken: workload.accessToken,
    signSaToken,
    baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
  };
}

const REF = `127.0.0.1:8080/builder-project/repo1/tee@${DIGEST}`;

/** Asks the teeserver for a custom token over its socket, as a workload would. */
function customToken(socketPath: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path: '/v1/token' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('a boot attested by the real verifier', () => {
  let f: Awaited<ReturnType<typeof startVerifier>>;
  const dir = mkdtempSync(join(tmpdir(), 'sr-vint-'));
  before(async () => {
    f = await startVerifier();
  });
  after(async () => {
    await f.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const family of ['confidential-space', 'confidential-space-debug'] as const) {
    test(`${family}: the token file's claims carry the digest, args, env, overrides and dbgstat`, async () => {
      const platform = bootSoftPlatform({
        ca: f.ca,
        instance: {
          zone: 'us-central1-a',
          projectId: 'operator-project',
          projectNumber: f.projectNumber,
          instanceName: 'vm1',
          instanceId: '6920867375712861823',
        },
        launcherBuild: LAUNCHER_BUILD,
        imageFamily: family,
        nowMs: f.clock.now(),
      });
      const launcherDir = join(dir, family, 'launcher');
      let custom: { status: number; text: string } | undefined;
      let badCustom: { status: number; text: string } | undefined;
      const runtime: ContainerRuntime = {
        kind: 'process',
        start: async (config) => {
          const socket = join(config.launcherDir, 'teeserver.sock');
          custom = await customToken(socket, {
            audience: 'https://collab.example',
            nonces: ['0123456789abcdef'],
            token_type: 'OIDC',
          });
          badCustom = await customToken(socket, {
            audience: 'https://collab.example',
            nonces: ['abc'],
            token_type: 'OIDC',
          });
          return { exited: Promise.resolve({ exitCode: 0 }), signal: async () => {} };
        },
      };
      const result = await runLaunch({
        metadata: {
          'tee-image-reference': REF,
          'tee-cmd': '["--mode","count"]',
          'tee-env-TOPIC': 'words',
          'tee-restart-policy': 'Never',
        },
        hardened: family === 'confidential-space',
        instanceName: 'vm1',
        images: {
          pull: async () => ({
            reference: REF,
            digest: DIGEST,
            configDigest: `sha256:${'c'.repeat(64)}`,
            config: {
              Entrypoint: ['/nodejs/bin/node', '/app/main.js'],
              Env: ['PATH=/usr/bin'],
              Labels: {
                'tee.launch_policy.allow_cmd_override': 'true',
                'tee.launch_policy.allow_env_override': 'TOPIC',
              },
            },
            rootfs: join(dir, 'rootfs'),
          }),
        },
        platform,
        tokenSource: () =>
          createVerifierTokenSource({
            baseUrl: f.baseUrl,
            projectId: 'operator-project',
            region: 'us-central1',
            accessToken: async () => f.workloadToken,
            idTokens: async (audience) => [await f.signSaToken(audience)],
            platform,
            defaultAudience: 'https://sts.googleapis.com',
          }),
        runtime,
        launcherDir,
        workDir: join(dir, family, 'work'),
        logs: { serial: () => {}, cloudLogging: () => {} },
        logger: createMemoryLogger(),
        clock: f.clock,
        timers: createFakeTimers(f.clock),
        random: () => 0.5,
      });
      assert.equal(result.error?.message, undefined);
      assert.equal(result.exitCode, family === 'confidential-space' ? 0 : 4);
      const claims = decodeJwt(readFileSync(join(launcherDir, TOKEN_FILE_NAME), 'utf8')) as Json;
      assert.equal(claims.aud, 'https://sts.googleapis.com');
      assert.equal(claims.hwmodel, 'SOFTWARE');
      assert.equal(claims.dbgstat, family === 'confidential-space' ? 'disabled-since-boot' : 'enabled');
      const container = claims.submods.container;
      assert.equal(container.image_reference, REF);
      assert.equal(container.image_digest, DIGEST);
      assert.equal(container.restart_policy, 'Never');
      assert.deepEqual(container.args, ['/nodejs/bin/node', '/app/main.js', '--mode', 'count']);
      assert.deepEqual(container.cmd_override, ['--mode', 'count']);
      assert.deepEqual(container.env_override, { TOPIC: 'words' });
      assert.equal(container.env.HOSTNAME, 'vm1');
      assert.equal(claims.submods.gce.instance_name, 'vm1');
      assert.deepEqual(claims.google_service_accounts, [SA_EMAIL]);
      assert.equal(claims.submods.confidential_space.monitoring_enabled.memory, false);
      assert.equal(custom?.status, 200, custom?.text);
      const customClaims = decodeJwt(custom?.text ?? '') as Json;
      assert.equal(customClaims.aud, 'https://collab.example');
      assert.deepEqual([customClaims.eat_nonce].flat(), ['0123456789abcdef']);
      assert.equal(badCustom?.status, 400);
    });
  }
});
