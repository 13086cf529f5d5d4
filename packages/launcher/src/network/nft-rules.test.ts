// The rendered nftables table: rule order follows evaluation order, deny refuses, and each instance's
// interface dispatches to its own chains.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkOfSlot, parseAddressPool, pickLinkSlot, routedRanges } from './address-pool.ts';
import { parseExposedPorts } from './exposed-ports.ts';
import { rulesForInstance } from './firewall.ts';
import { renderBridgeTable, renderHostTable, renderRule } from './nft-rules.ts';
import { rule } from './test-rules.ts';

const pool = parseAddressPool('10.213.0.0/16');

test('a rule renders its range, protocol and ports, one line per entry; deny rejects', () => {
  const lines = renderRule(
    rule({
      name: 'deny-mail',
      action: 'deny',
      destinationRanges: ['0.0.0.0/0'],
      matches: [
        {
          protocol: 6,
          ports: [
            { from: 25, to: 25 },
            { from: 465, to: 587 },
          ],
        },
        { protocol: 1, ports: [] },
      ],
    }),
    'daddr',
  );
  assert.deepEqual(lines, [
    'ip daddr 0.0.0.0/0 meta l4proto 6 th dport { 25, 465-587 } reject comment "firewall deny-mail"',
    'ip daddr 0.0.0.0/0 meta l4proto 1 reject comment "firewall deny-mail"',
  ]);
});

test('the host table keeps evaluation order and dispatches each interface to its chains', () => {
  assert.ok(pool);
  const link = linkOfSlot(pool, 3);
  const target = { tags: [], serviceAccount: 'sa@p', address: link.instanceAddress };
  const rules = [
    rule({ name: 'deny-all', priority: 2000, action: 'deny', destinationRanges: ['0.0.0.0/0'] }),
    rule({ name: 'allow-corp', priority: 100, destinationRanges: ['192.0.2.0/24'] }),
  ];
  const text = renderHostTable('sealroom_abc123', [
    {
      link,
      hostInterface: 'snabc1233',
      exposed: parseExposedPorts(['8080/tcp']),
      published: [{ protocol: 'tcp', containerPort: 8080, hostPort: 18080 }],
      ingress: rulesForInstance(rules, target, 'INGRESS'),
      egress: rulesForInstance(rules, target, 'EGRESS'),
      gatewayPorts: [80],
      bridgePorts: [8080],
    },
  ]);
  assert.match(text, /^table inet sealroom_abc123 \{\}\ndelete table inet sealroom_abc123\n/);
  assert.ok(text.indexOf('allow-corp') < text.indexOf('deny-all'), 'priority 100 before 2000');
  assert.match(text, /fib daddr type local tcp dport 18080 dnat ip to 10\.213\.0\.14:8080/);
  assert.match(text, /ip saddr 10\.213\.0\.14 oifname != "snabc1233" masquerade/);
  assert.match(text, /iifname "snabc1233" jump egress_3/);
  assert.match(text, /oifname "snabc1233" jump ingress_3/);
  assert.match(text, /th dport != \{ 6 \. 8080 \} reject comment "not EXPOSEd"/);
  assert.match(text, /iifname "snabc1233" ip daddr 10\.213\.0\.13 tcp dport 8080 dnat ip to 127\.0\.0\.1/);
});

test('an instance without EXPOSEd ports refuses every new inbound connection', () => {
  assert.ok(pool);
  const text = renderHostTable('sealroom_abc123', [
    {
      link: linkOfSlot(pool, 0),
      hostInterface: 'snabc1230',
      exposed: [],
      published: [],
      ingress: [],
      egress: [],
      gatewayPorts: [],
      bridgePorts: [],
    },
  ]);
  assert.match(text, /chain ingress_0 \{[^}]*reject comment "no EXPOSEd port"/);
});

test('the bridge table sends the workload loopback control-plane ports to the gateway', () => {
  const text = renderBridgeTable('10.213.0.1', [8080, 8443]);
  assert.match(text, /ip daddr 127\.0\.0\.1 tcp dport \{ 8080, 8443 \} dnat to 10\.213\.0\.1/);
  assert.match(text, /oifname "eth0" ip saddr 127\.0\.0\.0\/8 masquerade/);
});

const slots: { name: string; inUse: number[]; routes: { dst?: string }[]; want: number | undefined }[] = [
  { name: 'an empty host takes slot 0', inUse: [], routes: [{ dst: 'default' }], want: 0 },
  { name: 'slots in use are skipped', inUse: [0, 1], routes: [], want: 2 },
  { name: 'a routed /24 inside the pool is skipped whole', inUse: [], routes: [{ dst: '10.213.0.0/24' }], want: 64 },
  { name: 'a host route collides with its /30', inUse: [], routes: [{ dst: '10.213.0.1' }], want: 1 },
  { name: 'a route covering the whole pool exhausts it', inUse: [], routes: [{ dst: '10.0.0.0/8' }], want: undefined },
];

for (const c of slots) {
  test(`address pool: ${c.name}`, () => {
    assert.ok(pool);
    assert.equal(pickLinkSlot(pool, new Set(c.inUse), routedRanges(c.routes)), c.want);
  });
}

test('a slot is a /30: gateway .1 and instance .2 of it', () => {
  assert.ok(pool);
  assert.deepEqual(linkOfSlot(pool, 1), {
    slot: 1,
    subnet: '10.213.0.4/30',
    gatewayAddress: '10.213.0.5',
    instanceAddress: '10.213.0.6',
  });
  assert.equal(parseAddressPool('10.213.0.1/16'), undefined, 'host bits set');
  assert.equal(parseAddressPool('10.213.0.0/31'), undefined, 'too small');
});
