// Test-only wiring: an IAM test context, the verifier module over it, a soft platform CA and an SA-token signer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COS_TYPE, bootSoftPlatform, createPlatformCa, encodeCosContent } from '@sealroom/attest';
import type { ImageFamily, PlatformCa, SoftFirmwareOptions, SoftPlatform, TpmEvidence } from '@sealroom/attest';
import { createFakeClock, resolveSharedDir, toTpmAttestationJson } from '@sealroom/core';
import type { FakeClock, TpmAttestationJson } from '@sealroom/core';
import { createIamTestContext } from '@sealroom/iam/testing';
import type { IamTestContext } from '@sealroom/iam/testing';
import { buildRestApp } from '@sealroom/transport';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { parseVerifierConfig } from './config.ts';
import type { VerifierConfig } from './config.ts';
import { createVerifierModule } from './module.ts';

export const BASE_URL = 'http://127.0.0.1:8080';
export const IMAGE_DIGEST = 'sha256:9494e567c7c44e8b9f8808c1658a47c9b7979ef3cceef10f48754fc2706802ba';
export const LAUNCHER_BUILD = `sha256:${'1'.repeat(64)}`;
export const COSIGN_DIR = join(resolveSharedDir(), 'vectors', 'cosign');

// biome-ignore lint/suspicious/noExplicitAny: response bodies and claims are read as loose JSON in tests
export type Json = any;

export interface Fixture {
  readonly t: IamTestContext;
  readonly clock: FakeClock;
  readonly ca: PlatformCa;
  readonly app: Awaited<ReturnType<typeof buildRestApp>>;
  readonly module: Awaited<ReturnType<typeof createVerifierModule>>;
  readonly workloadToken: string;
  readonly strangerToken: string;
  readonly projectNumber: string;
  signSaToken(audience: string, email?: string): Promise<string>;
  boot(
    imageFamily?: ImageFamily,
    ca?: PlatformCa,
    firmware?: SoftFirmwareOptions,
    imageId?: string,
  ): Promise<SoftPlatform>;
  createChallenge(token?: string): Promise<{ name: string; tpmNonce: string }>;
  verify(challenge: string, body: Record<string, unknown>, token?: string): Promise<{ status: number; json: Json }>;
  body(evidence: TpmEvidence, challenge: string, extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** `startMs`: the clock's start, which is also when the soft platform CA begins to be valid (ten years). */
export async function createFixture(
  config: Partial<VerifierConfig> = {},
  options: { readonly startMs?: number } = {},
): Promise<Fixture> {
  const clock = createFakeClock(options.startMs ?? Date.UTC(2026, 5, 1));
  const t = await createIamTestContext({ clock, dev: true, baseUrl: BASE_URL });
  await t.createUser('owner@example.com');
  const project = await t.createProject('operator-project', 'owner@example.com');
  const workload = await t.createUser('workload@example.com');
  const stranger = await t.createUser('stranger@example.com');
  await t.grant('projects/operator-project', 'roles/confidentialcomputing.workloadUser', 'user:workload@example.com');
  const ca = createPlatformCa(clock.now());
  const saKeys = await generateKeyPair('RS256');
  const saJwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(saKeys.publicKey)), kid: 'sa1', alg: 'RS256' }] });
  const module = await createVerifierModule(t.context, {
    config: parseVerifierConfig(config),
    softPlatformCa: ca.certificate,
    serviceAccountKeys: saJwks,
  });
  const app = await buildRestApp({
    routes: module.routes,
    authenticator: t.context.authenticator,
    logger: t.context.logger,
  });
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const fixture: Fixture = {
    t,
    clock,
    ca,
    app,
    module,
    workloadToken: workload.accessToken,
    strangerToken: stranger.accessToken,
    projectNumber: project.projectNumber,
    async signSaToken(audience, email = 'operator-sa@operator-project.iam.gserviceaccount.com') {
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT({ email, email_verified: true })
        .setProtectedHeader({ alg: 'RS256', kid: 'sa1' })
        .setIssuer(`${BASE_URL}/accounts`)
        .setAudience(audience)
        .setSubject('112233445566778899')
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(saKeys.privateKey);
    },
    async boot(imageFamily = 'confidential-space', bootCa = ca, firmware = {}, imageId = `sha256:${'e9'.repeat(32)}`) {
      const platform = bootSoftPlatform({
        ca: bootCa,
        instance: fixtureInstance(project.projectNumber),
        launcherBuild: LAUNCHER_BUILD,
        imageFamily,
        nowMs: clock.now(),
        firmware,
      });
      const events: Array<[number, string | Uint8Array]> = [
        [COS_TYPE.IMAGE_REF, `127.0.0.1:8080/builder-project/repo1/tee@${IMAGE_DIGEST}`],
        [COS_TYPE.IMAGE_DIGEST, IMAGE_DIGEST],
        [COS_TYPE.RESTART_POLICY, 'Never'],
        [COS_TYPE.IMAGE_ID, imageId],
        [COS_TYPE.ARG, '/nodejs/bin/node'],
        [COS_TYPE.ARG, '/app/main.js'],
        [COS_TYPE.ENV_VAR, 'PATH=/usr/local/bin:/usr/bin:/bin'],
        [COS_TYPE.ENV_VAR, 'HOSTNAME=vm1'],
        [COS_TYPE.MEMORY_MONITOR, Uint8Array.of(0)],
        [COS_TYPE.LAUNCH_SEPARATOR, ''],
      ];
      for (const [type, value] of events) await platform.measureEvent(encodeCosContent(type, value));
      return platform;
    },
    async createChallenge(token = workload.accessToken) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/projects/operator-project/locations/us-central1/challenges',
        headers: auth(token),
        payload: {},
      });
      if (res.statusCode !== 200) throw new Error(`createChallenge: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    async verify(challenge, body, token = workload.accessToken) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/${challenge}:verifyConfidentialSpace`,
        headers: auth(token),
        payload: body,
      });
      return { status: res.statusCode, json: res.json() };
    },
    async body(evidence, challenge, extra = {}) {
      return {
        challenge,
        gcpCredentials: { serviceAccountIdTokens: [await fixture.signSaToken(challenge)] },
        tpmAttestation: toTpmJson(evidence),
        ...extra,
      };
    },
  };
  return fixture;
}

/** The `tpmAttestation` JSON of evidence, as the launcher sends it (the evidence contract's encoder). */
/** The operator's instance vm1 the fixture's platforms boot as (project number from the fixture). */
export function fixtureInstance(projectNumber: string) {
  return {
    zone: 'us-central1-a',
    projectId: 'operator-project',
    projectNumber,
    instanceName: 'vm1',
    instanceId: '6920867375712861823',
  };
}

/** A hardened SEV-SNP image the verifier knows by its launch measurement (`sealroom.image=<name>`). */
export function snpTestImage(name: string, measurement: Buffer): VerifierConfig['images'][number] {
  return {
    cmdline: `sealroom.image=${name}`,
    imageReleaseName: `sealroom-${name}`,
    isHardened: true,
    swversion: '261100',
    supportAttributes: ['STABLE'],
    secureBootDb: ['0'.repeat(64)],
    bootApplications: { sha256: ['0'.repeat(64)] },
    launchMeasurements: [measurement.toString('hex')],
  };
}

export function toTpmJson(evidence: TpmEvidence): TpmAttestationJson {
  return toTpmAttestationJson(evidence);
}

export function cosignSignature(payload: string, signature: string): { payload: string; signature: string } {
  return {
    payload: readFileSync(join(COSIGN_DIR, payload)).toString('base64'),
    signature: readFileSync(join(COSIGN_DIR, signature), 'latin1'),
  };
}
