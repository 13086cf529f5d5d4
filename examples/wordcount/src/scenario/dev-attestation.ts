// DEVELOPMENT STAND-IN for launcher + verifier, used only until `sealroom compute instances create` is available:
// an OIDC issuer on 127.0.0.1 that signs Confidential Space–shaped tokens into a launcher directory.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Claims, type OutputPolicy, encodeClaims, outputPolicyDigest, parseOutputPolicy } from '@sealroom/core';
import { TOKEN_FILE_NAME } from '@sealroom/workload';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface DevInstanceClaims {
  readonly operatorProject: string;
  readonly operatorProjectNumber: string;
  readonly serviceAccount: string;
  readonly imageReference: string;
  readonly imageDigest: string;
  /** The debug image family: dbgstat enabled and no STABLE support attribute. */
  readonly debug?: boolean;
  readonly instanceName?: string;
  /** The image's output policy; by default the one the word-count image declares in its build config. */
  readonly outputPolicy?: OutputPolicy;
}

/** The output policy of the word-count image (its `sealroom.output_policy` label). */
export const IMAGE_OUTPUT_POLICY: OutputPolicy = parseOutputPolicy(
  (JSON.parse(readFileSync(new URL('../../sealroom.build.json', import.meta.url), 'utf8')) as { outputPolicy: unknown })
    .outputPolicy,
);

export interface DevAttestation {
  /** Put this in the providers' --issuer-uri. */
  readonly issuerUri: string;
  /** A fresh launcher directory holding the token file for these claims. */
  bootInstance(claims: DevInstanceClaims): { launcherDir: string; tokenFile: string; refresh(): Promise<void> };
  /** Signs any payload, contract or not (tests forge tokens with it); `bootInstance` signs checked claims. */
  sign(payload: Readonly<Record<string, unknown>>): Promise<string>;
  close(): Promise<void>;
}

export async function startDevAttestation(): Promise<DevAttestation> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
    else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dirs: string[] = [];
  const sign = (payload: Readonly<Record<string, unknown>>) =>
    new SignJWT({ ...payload }).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey as CryptoKey);
  return {
    issuerUri: issuer,
    sign,
    bootInstance(claims) {
      const launcherDir = mkdtempSync(join(tmpdir(), 'sealroom-dev-instance-'));
      mkdirSync(launcherDir, { recursive: true });
      dirs.push(launcherDir);
      const tokenFile = join(launcherDir, TOKEN_FILE_NAME);
      const refresh = async () => {
        // The payload is the claims contract's encoding: the same checks as the verifier's tokens.
        const token = await sign(JSON.parse(encodeClaims(instanceClaims(issuer, claims))));
        writeFileSync(`${tokenFile}.tmp`, token);
        renameSync(`${tokenFile}.tmp`, tokenFile);
      };
      return { launcherDir, tokenFile, refresh };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The claim set of a Confidential Space token (docs/verifier.md, "The token") for one dev instance. */
export function instanceClaims(issuer: string, c: DevInstanceClaims): Claims {
  const now = Math.floor(Date.now() / 1000);
  const name = c.instanceName ?? 'vm1';
  return {
    iss: issuer,
    sub: `https://www.googleapis.com/compute/v1/projects/${c.operatorProject}/zones/us-central1-a/instances/${name}`,
    aud: 'https://sts.googleapis.com',
    iat: now,
    nbf: now,
    exp: now + 3600,
    eat_profile: 'https://cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims',
    secboot: true,
    oemid: 11129,
    hwmodel: 'SOFTWARE',
    swname: 'CONFIDENTIAL_SPACE',
    swversion: ['250301'],
    dbgstat: c.debug ? 'enabled' : 'disabled-since-boot',
    google_service_accounts: [c.serviceAccount],
    submods: {
      container: {
        image_reference: c.imageReference,
        image_digest: c.imageDigest,
        restart_policy: 'Never',
        image_id: c.imageDigest,
        args: ['sealroom-wordcount', 'workload'],
        env: {},
        env_override: {},
        cmd_override: [],
        image_signatures: [],
      },
      gce: {
        zone: 'us-central1-a',
        project_id: c.operatorProject,
        project_number: c.operatorProjectNumber,
        instance_name: name,
        instance_id: '1000000000000000001',
      },
      confidential_space: {
        support_attributes: c.debug ? [] : ['LATEST', 'STABLE', 'USABLE'],
        monitoring_enabled: { memory: false },
      },
      sealroom: {
        output_policy: c.outputPolicy ?? IMAGE_OUTPUT_POLICY,
        output_policy_digest: outputPolicyDigest(c.outputPolicy ?? IMAGE_OUTPUT_POLICY),
      },
    },
  };
}
