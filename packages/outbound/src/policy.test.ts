import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutboundError } from './errors.ts';
import { allowsHttp, checkAddress, checkUrl, isLoopbackHost, resolvePolicy } from './policy.ts';

const refusedWith = (code: string) => (error: unknown) => error instanceof OutboundError && error.code === code;

describe('the outbound policy', () => {
  it('refuses every URL that is not plain https without credentials by default', () => {
    const policy = resolvePolicy();
    checkUrl(new URL('https://issuer.example/'), policy);
    for (const url of [
      'http://issuer.example/',
      'http://127.0.0.1:8080/',
      'ftp://issuer.example/',
      'file:///etc/passwd',
      'https://user:pass@issuer.example/',
      'https://user@issuer.example/',
    ]) {
      assert.throws(() => checkUrl(new URL(url), policy), refusedWith('ERR_OUTBOUND_URL'), url);
    }
  });

  it('lets plain http through to allow-listed hosts, by host or by host and port', () => {
    const policy = resolvePolicy({ httpHosts: ['verifier.corp', 'Registry.Corp:5000'] });
    assert.equal(allowsHttp(new URL('http://verifier.corp:8080/'), policy), true);
    assert.equal(allowsHttp(new URL('http://registry.corp:5000/'), policy), true);
    assert.equal(allowsHttp(new URL('http://registry.corp:5001/'), policy), false);
    assert.equal(allowsHttp(new URL('http://verifier.corp.evil.example/'), policy), false);
  });

  it('lets dev mode reach loopback hosts over http and nothing else', () => {
    const policy = resolvePolicy({ allowLoopback: true });
    for (const host of ['127.0.0.1:9', 'localhost:9', '[::1]:9', 'api.localhost']) {
      assert.equal(allowsHttp(new URL(`http://${host}/`), policy), true, host);
    }
    assert.equal(allowsHttp(new URL('http://10.0.0.1/'), policy), false);
    checkAddress('127.0.0.1', policy, 'x');
    assert.throws(() => checkAddress('10.0.0.1', policy, 'x'), refusedWith('ERR_OUTBOUND_ADDRESS'));
  });

  it('refuses non-public addresses unless a range allows them', () => {
    const strict = resolvePolicy();
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
    ]) {
      assert.throws(() => checkAddress(address, strict, 'x'), refusedWith('ERR_OUTBOUND_ADDRESS'), address);
    }
    checkAddress('93.184.216.34', strict, 'x');
    const allowed = resolvePolicy({ allowedRanges: ['10.20.0.0/16', '127.0.0.1'] });
    checkAddress('10.20.3.4', allowed, 'x');
    checkAddress('::ffff:127.0.0.1', allowed, 'x');
    assert.throws(() => checkAddress('10.21.0.1', allowed, 'x'), refusedWith('ERR_OUTBOUND_ADDRESS'));
    assert.throws(() => checkAddress('127.0.0.2', allowed, 'x'), refusedWith('ERR_OUTBOUND_ADDRESS'));
  });

  it('treats trusted origins as reachable over the scheme they name only', () => {
    const policy = resolvePolicy({ trustedOrigins: ['http://127.0.0.1:8080'] });
    checkUrl(new URL('http://127.0.0.1:8080/v2/'), policy);
    assert.throws(() => checkUrl(new URL('http://127.0.0.1:8081/'), policy), refusedWith('ERR_OUTBOUND_URL'));
  });

  it('refuses invalid entries with the entry named', () => {
    assert.throws(() => resolvePolicy({ allowedRanges: ['10.0.0.0/40'] }), /10\.0\.0\.0\/40/);
    assert.throws(() => resolvePolicy({ httpHosts: ['a/b'] }), /a\/b/);
    assert.throws(() => resolvePolicy({ trustedOrigins: ['ftp://x'] }), /ftp:\/\/x/);
    assert.throws(() => resolvePolicy({ timeoutMs: 0 }), /timeoutMs/);
  });

  it('knows loopback host names', () => {
    assert.equal(isLoopbackHost('LOCALHOST'), true);
    assert.equal(isLoopbackHost('127.9.9.9'), true);
    assert.equal(isLoopbackHost('localhost.example'), false);
  });
});
