// One boot against the real verifier (over HTTP on 127.0.0.1) on a soft platform: the token's claims are the launch.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootSoftPlatform } from '@sealroom/attest';
import { fixtureInstance } from '@sealroom/verifier/testing';
import { decodeJwt } from 'jose';
import { TOKEN_FILE_NAME } from './token-refresher.ts';
import {
  DIGEST,
  LAUNCHER_BUILD,
  launchAgainstVerifier,
  REF,
  SA_EMAIL,
  startVerifier,
} from './verifier-test-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: token claims are read as loose JSON in tests
type Json = any;
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
        instance: fixtureInstance(f.projectNumber),
        launcherBuild: LAUNCHER_BUILD,
        imageFamily: family,
        nowMs: f.clock.now(),
      });
      const { result, custom, badCustom, launcherDir } = await launchAgainstVerifier(
        f,
        platform,
        join(dir, family),
        family,
      );
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
