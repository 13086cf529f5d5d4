// Reading the launcher's token file and decoding claims.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toBase64Url } from '@sealroom/core';
import { resolveLauncherPaths } from './paths.ts';
import { decodeTokenClaims, readDefaultToken } from './token.ts';

const dir = mkdtempSync(join(tmpdir(), 'workload-token-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function jwt(claims: object): string {
  const part = (value: object) => toBase64Url(Buffer.from(JSON.stringify(value)));
  return `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}.c2ln`;
}

describe('readDefaultToken', () => {
  it('returns the token without the trailing newline the file may carry', async () => {
    const tokenFile = join(dir, 'token');
    const token = jwt({ aud: 'https://sts.googleapis.com' });
    writeFileSync(tokenFile, `${token}\n`);
    assert.equal(await readDefaultToken({ tokenFile }), token);
  });

  it('reports a missing file as a retryable unavailable token', async () => {
    await assert.rejects(readDefaultToken({ tokenFile: join(dir, 'absent') }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_WORKLOAD_TOKEN_UNAVAILABLE');
      return true;
    });
  });

  it('refuses a file that holds no JWT yet', async () => {
    const tokenFile = join(dir, 'empty');
    writeFileSync(tokenFile, '');
    await assert.rejects(readDefaultToken({ tokenFile }), /holds no JWT/);
  });
});

describe('decodeTokenClaims', () => {
  it('decodes the payload of a compact JWT', () => {
    const claims = decodeTokenClaims(jwt({ submods: { container: { image_digest: 'sha256:ab' } } }));
    assert.deepEqual(claims.submods, { container: { image_digest: 'sha256:ab' } });
  });

  it('refuses strings that are not three-part JWTs and payloads that are not objects', () => {
    assert.throws(() => decodeTokenClaims('a.b'), /three dot-separated/);
    assert.throws(() => decodeTokenClaims(`x.${toBase64Url(Buffer.from('[1]'))}.y`), /not a JSON object/);
  });
});

describe('resolveLauncherPaths', () => {
  it('uses the fixed container path unless the plain-process runtime names a host directory', () => {
    assert.equal(resolveLauncherPaths({}).tokenFile, '/run/container_launcher/attestation_verifier_claims_token');
    const moved = resolveLauncherPaths({ SEALROOM_CONTAINER_LAUNCHER_DIR: '/tmp/l1' });
    assert.equal(moved.socketPath, '/tmp/l1/teeserver.sock');
  });
});
