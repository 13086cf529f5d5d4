// The host's state directory: its TLS key sealed at rest (a TPM-held sealing key, or a file key without a TPM),
// a key an older agent left in clear migrated on start.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SWTPM_AVAILABLE, startSwtpm } from '@sealroom/attest/testing';
import { createMemoryLogger } from '@sealroom/core';
import { openHostSealer } from './host-seal.ts';
import { readHostKey, writeHostKey } from './host-state.ts';

const pemOf = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Whether any file of the directory holds a PEM private key, or the start of the key's base64 body. */
function leaks(dir: string, pem: string): boolean {
  const body = pem.split('\n').slice(1, 3).join('');
  return readdirSync(dir).some((f) => {
    const text = readFileSync(join(dir, f)).toString('latin1');
    return text.includes('PRIVATE KEY') || text.includes(body.slice(0, 40));
  });
}

// Where the machine has a TPM of its own (/dev/tpmrm0) the default would use it: these name none, or a simulator.
const NO_TPM = '';

test('without a TPM the host key is sealed under a 0600 file key: no file holds a PEM private key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-host-state-'));
  try {
    const pem = pemOf();
    const logger = createMemoryLogger();
    const sealer = await openHostSealer({ stateDir: dir, tpm: NO_TPM, logger });
    writeHostKey(dir, pem, sealer);
    assert.equal(leaks(dir, pem), false);
    assert.equal(statSync(join(dir, 'host-key.sealed')).mode & 0o077, 0);
    assert.equal(statSync(join(dir, 'host-seal.key')).mode & 0o077, 0);
    assert.equal(readHostKey(dir, await openHostSealer({ stateDir: dir, tpm: NO_TPM })), pem);
    assert.ok(
      logger.entries.some((e) => e.fields.sealing === 'file'),
      'the log says what seals the key',
    );
    // Altered bytes do not open.
    const sealed = readFileSync(join(dir, 'host-key.sealed'));
    sealed[sealed.length - 1] = (sealed[sealed.length - 1] ?? 0) ^ 1;
    writeFileSync(join(dir, 'host-key.sealed'), sealed);
    assert.throws(() => readHostKey(dir, sealer), /could not be opened/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key an older agent stored in clear is sealed on start and its clear copy removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-host-state-'));
  try {
    const pem = pemOf();
    writeFileSync(join(dir, 'host-key.pem'), pem, { mode: 0o600 });
    const logger = createMemoryLogger();
    const sealer = await openHostSealer({ stateDir: dir, tpm: NO_TPM });
    assert.equal(readHostKey(dir, sealer, logger), pem);
    assert.equal(existsSync(join(dir, 'host-key.pem')), false);
    assert.equal(leaks(dir, pem), false);
    assert.ok(logger.entries.some((e) => /stored in clear/.test(e.message)));
    assert.equal(readHostKey(dir, sealer), pem);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with a TPM the sealing key is a sealed data object only that TPM unseals', {
  skip: SWTPM_AVAILABLE ? false : 'no swtpm',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-host-state-'));
  const tpm = await startSwtpm();
  const other = await startSwtpm();
  try {
    const pem = pemOf();
    const logger = createMemoryLogger();
    writeHostKey(dir, pem, await openHostSealer({ stateDir: dir, tpm: tpm.address, logger }));
    assert.ok(
      logger.entries.some((e) => e.fields.sealing === 'tpm'),
      'the log says the TPM seals it',
    );
    assert.equal(existsSync(join(dir, 'host-seal.key')), false, 'no file key');
    assert.equal(statSync(join(dir, 'host-seal.tpm')).mode & 0o077, 0);
    assert.equal(leaks(dir, pem), false);
    assert.equal(readHostKey(dir, await openHostSealer({ stateDir: dir, tpm: tpm.address })), pem);
    // Another TPM (the state directory copied to another machine) cannot unseal it; no TPM at all is refused.
    await assert.rejects(openHostSealer({ stateDir: dir, tpm: other.address }), /TPM2_Load failed/);
    await assert.rejects(openHostSealer({ stateDir: dir, tpm: NO_TPM }), /sealed by a TPM/);
  } finally {
    await tpm.stop();
    await other.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
