// The serial console's logger: one line per entry, and nothing secret-named in it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSerialLogger } from './serial-logger.ts';

describe('the serial logger', () => {
  it('writes one line per entry with its fields, redacting tokens and keys', () => {
    const lines: string[] = [];
    const logger = createSerialLogger((line) => lines.push(line), { instance: 'i-1' });
    logger.info({ token: 'eyJhbGciOi.secret.sig', nested: { privateKey: 'PEM' }, kid: 'k1' }, 'token refreshed');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^launcher info: token refreshed \{/);
    assert.doesNotMatch(lines[0]!, /eyJhbGciOi|PEM/);
    assert.match(lines[0]!, /"kid":"k1"/);
    assert.match(lines[0]!, /"instance":"i-1"/);
  });

  it('keeps an error’s message and code, and its cause chain, without the stack', () => {
    const lines: string[] = [];
    const cause = Object.assign(new Error('verifier refused'), { code: 'ERR_VERIFIER_POLICY' });
    const error = Object.assign(new Error('attestation failed', { cause }), { code: 'ERR_LAUNCHER_ATTEST' });
    createSerialLogger((line) => lines.push(line)).error({ err: error }, 'boot failed');
    assert.match(lines[0]!, /ERR_LAUNCHER_ATTEST/);
    assert.match(lines[0]!, /attestation failed/);
    assert.match(lines[0]!, /ERR_VERIFIER_POLICY/);
    assert.doesNotMatch(lines[0]!, /\n|at .*\.ts:/);
  });
});
