// One boot against the real verifier (over HTTP on 127.0.0.1) on the tpm platform over swtpm: the token's claims are
// the launch, appraised on the same path as GCE's vTPM evidence.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TpmPlatform, bootTpmPlatform, openTpm } from '@sealroom/attest';
import { SWTPM_AVAILABLE, type Swtpm, startSwtpm } from '@sealroom/attest/testing';
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
describe('a boot on swtpm attested by the real verifier', {
  skip: SWTPM_AVAILABLE ? false : 'swtpm is not installed',
}, () => {
  let f: Awaited<ReturnType<typeof startVerifier>>;
  const dir = mkdtempSync(join(tmpdir(), 'sr-vint-tpm-'));
  let swtpm: Swtpm | undefined;
  let platform: TpmPlatform | undefined;
  before(async () => {
    f = await startVerifier();
  });
  after(async () => {
    await platform?.close();
    await swtpm?.stop();
    await f.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const family of ['confidential-space'] as const) {
    test(`${family}: the token file's claims carry the digest, args, env, overrides and dbgstat`, async () => {
      swtpm = await startSwtpm();
      const tpm = await bootTpmPlatform({
        tpm: await openTpm(swtpm.address),
        ca: f.ca,
        instance: fixtureInstance(f.projectNumber),
        launcherBuild: LAUNCHER_BUILD,
        imageFamily: family,
        nowMs: f.clock.now(),
      });
      platform = tpm;
      const { result, custom, badCustom, launcherDir } = await launchAgainstVerifier(f, tpm, join(dir, family), family);
      assert.equal(result.error?.message, undefined);
      assert.equal(result.exitCode, family === 'confidential-space' ? 0 : 4);
      const claims = decodeJwt(readFileSync(join(launcherDir, TOKEN_FILE_NAME), 'utf8')) as Json;
      assert.equal(claims.aud, 'https://sts.googleapis.com');
      // The root the AK certificate chains to says what the hardware is: the dev platform CA says SOFTWARE.
      assert.equal(claims.hwmodel, 'SOFTWARE');
      assert.equal(tpm.akCertificateFromNv, false);
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
