// The attester's side of a verifier benchmark: the soft platform of an instance, certified by the platform CA the
// dev server trusts (created in its state directory before it starts, as the embedded host's CA is), and the
// `:verifyConfidentialSpace` bodies a launcher sends (TPM quote over the challenge, SA ID token for the challenge).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  bootSoftPlatform,
  COS_TYPE,
  encodeCosContent,
  loadOrCreatePlatformCa,
  type PlatformCa,
  type SoftPlatform,
} from '@sealroom/attest';
import { loadOrCreateRootKey, toTpmAttestationJson } from '@sealroom/core';
import type { Api } from './api.ts';

const IMAGE_DIGEST = `sha256:${'94'.repeat(32)}`;

/** For `startSealroom({ prepareState })`: the root key and platform CA the server will find and trust. */
export function preparePlatformCa(stateDir: string): PlatformCa {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const sealer = loadOrCreateRootKey(join(stateDir, 'keys', 'root.key'));
  return loadOrCreatePlatformCa({ dir: stateDir, sealer, nowMs: Date.now() });
}

/** Boots instance `vm1` of `projectId` on the soft platform and measures a launch (image, args, env, separator). */
export async function bootInstance(ca: PlatformCa, projectId: string, projectNumber: string): Promise<SoftPlatform> {
  const platform = bootSoftPlatform({
    ca,
    instance: {
      zone: 'us-central1-a',
      projectId,
      projectNumber,
      instanceName: 'vm1',
      instanceId: '6920867375712861823',
    },
    launcherBuild: `sha256:${'1'.repeat(64)}`,
    imageFamily: 'confidential-space',
    nowMs: Date.now(),
    firmware: {},
  });
  const events: Array<[number, string | Uint8Array]> = [
    [COS_TYPE.IMAGE_REF, `127.0.0.1:8080/${projectId}/repo1/tee@${IMAGE_DIGEST}`],
    [COS_TYPE.IMAGE_DIGEST, IMAGE_DIGEST],
    [COS_TYPE.RESTART_POLICY, 'Never'],
    [COS_TYPE.IMAGE_ID, `sha256:${'e9'.repeat(32)}`],
    [COS_TYPE.ARG, '/nodejs/bin/node'],
    [COS_TYPE.ARG, '/app/main.js'],
    [COS_TYPE.ENV_VAR, 'PATH=/usr/local/bin:/usr/bin:/bin'],
    [COS_TYPE.MEMORY_MONITOR, Uint8Array.of(0)],
    [COS_TYPE.LAUNCH_SEPARATOR, ''],
  ];
  for (const [type, value] of events) await platform.measureEvent(encodeCosContent(type, value));
  return platform;
}

export interface Attester {
  readonly challengesPath: string;
  /** Asks for a challenge over HTTP and answers it: the path and JSON body of its `:verifyConfidentialSpace`. */
  attest(): Promise<{ path: string; body: string }>;
}

/**
 * An attester for `platform` in `projectId`, calling as `token` (which holds workloadUser and may mint ID tokens
 * for service account `saEmail`).
 */
export function attesterOf(api: Api, token: string, projectId: string, platform: SoftPlatform, saEmail: string) {
  const challengesPath = `/v1/projects/${projectId}/locations/us-central1/challenges`;
  return {
    challengesPath,
    async attest() {
      const challenge = await api.call(token, 'POST', challengesPath, {});
      const evidence = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
      const { token: idToken } = await api.call(
        token,
        'POST',
        `/v1/projects/-/serviceAccounts/${saEmail}:generateIdToken`,
        {
          audience: challenge.name,
          includeEmail: true,
        },
      );
      const body = {
        challenge: challenge.name,
        gcpCredentials: { serviceAccountIdTokens: [idToken] },
        tpmAttestation: toTpmAttestationJson(evidence),
      };
      return { path: `/v1/${challenge.name}:verifyConfidentialSpace`, body: JSON.stringify(body) };
    },
  } satisfies Attester;
}
