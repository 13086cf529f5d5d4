import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AddressKind, classifyAddress, parseAddress, parseRange, rangeContains } from './address.ts';
import { OutboundError } from './errors.ts';

describe('classifyAddress', () => {
  const table: [string, AddressKind][] = [
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.10.10', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001:4860:4860::8888', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:0808:0808::1', 'public'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
    ['not-an-address', 'reserved'],
  ];
  for (const [address, kind] of table) {
    it(`classifies ${address} as ${kind}`, () => assert.equal(classifyAddress(address), kind));
  }
});

describe('parseRange', () => {
  it('reads CIDR ranges and single addresses', () => {
    assert.equal(parseRange('10.0.0.0/8').prefix, 8);
    assert.equal(parseRange('127.0.0.1').prefix, 32);
    assert.equal(parseRange('fd00::/8').family, 6);
    assert.equal(parseRange('::1').prefix, 128);
  });

  it('refuses what is not a range, naming it', () => {
    for (const text of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/x', '', '10.0.0.0/-1']) {
      assert.throws(
        () => parseRange(text),
        (error: unknown) =>
          error instanceof OutboundError && error.code === 'ERR_OUTBOUND_POLICY' && error.message.includes(`'${text}'`),
        text,
      );
    }
  });

  it('matches addresses inside the range only, on any prefix length', () => {
    const range = parseRange('172.16.0.0/12');
    const inside = (text: string) => rangeContains(range, parseAddress(text) ?? assert.fail(text));
    assert.equal(inside('172.16.0.1'), true);
    assert.equal(inside('172.31.255.255'), true);
    assert.equal(inside('172.32.0.0'), false);
    assert.equal(inside('::ffff:172.16.0.1'), false);
    assert.equal(rangeContains(parseRange('fd00::/8'), parseAddress('fd12::1') ?? assert.fail()), true);
    assert.equal(rangeContains(parseRange('fd00::/8'), parseAddress('fc00::1') ?? assert.fail()), false);
  });
});
