// Test-only: the verifier as `sealroom serve` hosts it (the verifier's own test fixture, listening on 127.0.0.1),
// and a workload's custom-token request to the teeserver, for the launcher's integration tests.
import { request } from 'node:http';
import { join } from 'node:path';
import type { ImageFamily, Platform } from '@sealroom/attest';
import { createMemoryLogger } from '@sealroom/core';
import { type Fixture, createFixture, LAUNCHER_BUILD } from '@sealroom/verifier/testing';
import { type LaunchResult, runLaunch } from './launch.ts';
import type { ContainerRuntime } from './runtime/types.ts';
import { createFakeTimers } from './timers.ts';
import { createVerifierTokenSource } from './verifier-client.ts';

export { LAUNCHER_BUILD };

export const DIGEST = `sha256:${'d'.repeat(64)}`;
export const REF = `127.0.0.1:8080/builder-project/repo1/tee@${DIGEST}`;
/** The service account the fixture's SA tokens name by default. */
export const SA_EMAIL = 'operator-sa@operator-project.iam.gserviceaccount.com';

export interface CustomTokenAnswer {
  readonly status: number;
  readonly text: string;
}

export interface ListeningVerifier extends Fixture {
  /** Where the verifier's REST API listens (port 0 chosen by the system). */
  readonly baseUrl: string;
}

/** The verifier over an IAM test context in dev mode (soft platform CA trusted), over HTTP on 127.0.0.1. */
export async function startVerifier(config: Parameters<typeof createFixture>[0] = {}): Promise<ListeningVerifier> {
  const fixture = await createFixture(config);
  await fixture.app.listen({ port: 0, host: '127.0.0.1' });
  const address = fixture.app.server.address();
  return { ...fixture, baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/** Asks the teeserver for a custom token over its socket, as a workload would. */
export function customToken(socketPath: string, body: unknown): Promise<CustomTokenAnswer> {
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

/**
 * One launch of a workload (`REF`, whose launch policy allows a cmd and a TOPIC override) on `platform`, its token
 * from `verifier`; the runtime asks the teeserver for a custom token with a good and a bad nonce instead of
 * running anything. Files go below `dir`.
 */
export async function launchAgainstVerifier(
  verifier: ListeningVerifier,
  platform: Platform,
  dir: string,
  family: ImageFamily,
): Promise<{
  result: LaunchResult;
  custom: CustomTokenAnswer | undefined;
  badCustom: CustomTokenAnswer | undefined;
  launcherDir: string;
}> {
  const launcherDir = join(dir, 'launcher');
  let custom: CustomTokenAnswer | undefined;
  let badCustom: CustomTokenAnswer | undefined;
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
        baseUrl: verifier.baseUrl,
        projectId: 'operator-project',
        region: 'us-central1',
        accessToken: async () => verifier.workloadToken,
        idTokens: async (audience) => [await verifier.signSaToken(audience)],
        platform,
        defaultAudience: 'https://sts.googleapis.com',
      }),
    runtime,
    launcherDir,
    workDir: join(dir, 'work'),
    logs: { serial: () => {}, cloudLogging: () => {} },
    logger: createMemoryLogger(),
    clock: verifier.clock,
    timers: createFakeTimers(verifier.clock),
    random: () => 0.5,
  });
  return { result, custom, badCustom, launcherDir };
}
