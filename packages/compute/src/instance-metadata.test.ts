// The host's side of an instance's metadata server: the attached account's tokens, format=full, the files, the
// loopback fallback and what the serial line says about it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createFakeClock, silentLogger } from '@sealroom/core';
import { startInstanceMetadata } from './instance-metadata.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealroom-instance-metadata-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SA = 'vm-runner@operator-project.iam.gserviceaccount.com';

test('tokens are the attached account’s, with --scopes; format=full adds the instance; the line says not isolated', async () => {
  const clock = createFakeClock(1_700_000_000_000);
  const calls: unknown[] = [];
  const metadata = await startInstanceMetadata({
    request: {
      instanceId: '8123456789012345678',
      name: 'vm1',
      zone: 'us-central1-a',
      projectId: 'operator-project',
      projectNumber: '123456789012',
      imageFamily: 'confidential-space',
      metadata: { 'tee-restart-policy': 'Never' },
      serviceAccountEmail: SA,
      serviceAccountScopes: ['https://www.googleapis.com/auth/pubsub'],
      createTime: 1_699_999_000_000,
      previousBoots: 0,
    },
    dir,
    universeDomain: 'googleapis.com',
    credentials: {
      accessToken: async () => assert.fail('the scoped form is used'),
      scopedAccessToken: async (email, scopes) => {
        calls.push({ email, scopes });
        return { accessToken: 'at', expiresAt: clock.now() + 3_000_000 };
      },
      idToken: async (email, audience, actor, extra) => {
        calls.push({ email, audience, actor, extra });
        return 'id';
      },
    },
    clock,
    logger: silentLogger,
  });
  try {
    assert.equal(metadata.isolated, false);
    assert.match(metadata.description, /on loopback: NOT isolated/);
    assert.match(metadata.server.host, /^127\.(?!0\.0\.)\d+\.\d+\.\d+$/);
    const base = `http://${metadata.server.hostPort}/computeMetadata/v1/instance/service-accounts/default`;
    const headers = { 'Metadata-Flavor': 'Google' };
    const token = await (await fetch(`${base}/token`, { headers })).json();
    assert.deepEqual(token, { access_token: 'at', expires_in: 3000, token_type: 'Bearer' });
    assert.deepEqual(calls.at(-1), { email: SA, scopes: ['https://www.googleapis.com/auth/pubsub'] });
    assert.equal(await (await fetch(`${base}/identity?audience=aud&format=full`, { headers })).text(), 'id');
    assert.deepEqual(calls.at(-1), {
      email: SA,
      audience: 'aud',
      actor: SA,
      extra: {
        google: {
          compute_engine: {
            project_id: 'operator-project',
            project_number: 123456789012,
            zone: 'us-central1-a',
            instance_id: '8123456789012345678',
            instance_name: 'vm1',
            instance_creation_timestamp: 1_699_999_000,
          },
        },
      },
    });
    // Without endpoints the workload gets the metadata server only.
    assert.equal(metadata.files.trustedCaDigest, undefined);
    assert.match(readFileSync(metadata.files.hostsFile, 'utf8'), /metadata\.google\.internal/);
  } finally {
    await metadata.close();
  }
});
