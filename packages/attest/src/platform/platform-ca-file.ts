// The platform CA kept in the state directory (certificate in clear, key sealed), shared by the host agent
// that boots soft platforms and by the verifier that trusts them in dev mode.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sealer } from '@sealroom/core';
import { createPlatformCa, loadPlatformCa } from './platform-ca.ts';
import type { PlatformCa } from './platform-ca.ts';

const CERT_FILE = 'platform-ca.cert.der';
const KEY_FILE = 'platform-ca.key.sealed';
const SEAL_CONTEXT = 'attest/platform-ca';

function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Loads `<dir>/platform-ca.*`, creating the CA on first use. */
export function loadOrCreatePlatformCa(options: { dir: string; sealer: Sealer; nowMs: number }): PlatformCa {
  const certPath = join(options.dir, CERT_FILE);
  const keyPath = join(options.dir, KEY_FILE);
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const ca = createPlatformCa(options.nowMs);
    writeAtomically(keyPath, options.sealer.seal(ca.exportPrivateKey(), SEAL_CONTEXT));
    writeAtomically(certPath, ca.certificate);
    return ca;
  }
  return loadPlatformCa(readFileSync(certPath), options.sealer.open(readFileSync(keyPath), SEAL_CONTEXT));
}
