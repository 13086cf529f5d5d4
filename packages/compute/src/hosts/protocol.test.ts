import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostEvent } from './protocol.ts';

const facts = {
  isolation: 'namespace',
  networkIP: '10.213.0.2',
  gatewayAddress: '10.213.0.1',
  natIP: '192.0.2.7',
  publishedPorts: [{ protocol: 'tcp', containerPort: 9443, hostPort: 40123 }],
};

test('a host’s network facts cross the channel: isolation, addresses and published ports', () => {
  const event = parseHostEvent({ event: { kind: 'network', instanceId: '42', facts } });
  assert.deepEqual(event, { kind: 'network', instanceId: '42', facts });
  const none = parseHostEvent({
    event: { kind: 'network', instanceId: '42', facts: { isolation: 'none', reason: 'no runc', publishedPorts: [] } },
  });
  assert.deepEqual(none, {
    kind: 'network',
    instanceId: '42',
    facts: { isolation: 'none', reason: 'no runc', publishedPorts: [] },
  });
});

test('malformed network facts are dropped, not recorded', () => {
  const bad = [
    { ...facts, isolation: 'vpc' },
    { ...facts, networkIP: 'not-an-address' },
    { ...facts, publishedPorts: [{ protocol: 'tcp', containerPort: 9443, hostPort: 70000 }] },
    { ...facts, publishedPorts: [{ protocol: 'sctp', containerPort: 9443, hostPort: 9443 }] },
    { ...facts, publishedPorts: undefined },
  ];
  for (const f of bad)
    assert.equal(parseHostEvent({ event: { kind: 'network', instanceId: '42', facts: f } }), undefined);
});
