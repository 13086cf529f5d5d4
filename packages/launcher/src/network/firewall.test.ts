// Firewall evaluation as Compute Engine orders it, in tables: priority, deny-before-allow ties, targets,
// implied rules, and the instance's own EXPOSE filter on ingress.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposedPorts } from './exposed-ports.ts';
import { type Connection, type FirewallRule, evaluateFirewall, rulesForInstance } from './firewall.ts';
import { rule } from './test-rules.ts';

const TCP = 6;
const UDP = 17;

const target = { tags: ['web'], serviceAccount: 'sa@p.iam.gserviceaccount.com', address: '10.213.0.2' };
const exposed = parseExposedPorts(['80/tcp', '53/udp', '9000']);

const cases: { name: string; rules: FirewallRule[]; connection: Connection; want: [string, string] }[] = [
  {
    name: 'no rule: egress is allowed by the implied rule',
    rules: [],
    connection: { direction: 'EGRESS', protocol: TCP, port: 443, remote: '8.8.8.8' },
    want: ['allow', 'implied-allow-egress'],
  },
  {
    name: 'no rule: an EXPOSEd port is reachable',
    rules: [],
    connection: { direction: 'INGRESS', protocol: TCP, port: 80, remote: '198.51.100.7' },
    want: ['allow', 'implied-allow-exposed'],
  },
  {
    name: 'a port the image does not EXPOSE is refused whatever the rules allow',
    rules: [rule({ name: 'open-all', direction: 'INGRESS', sourceRanges: ['0.0.0.0/0'] })],
    connection: { direction: 'INGRESS', protocol: TCP, port: 22, remote: '198.51.100.7' },
    want: ['deny', 'not-exposed'],
  },
  {
    name: 'EXPOSE 9000 without a protocol opens udp too',
    rules: [],
    connection: { direction: 'INGRESS', protocol: UDP, port: 9000, remote: '198.51.100.7' },
    want: ['allow', 'implied-allow-exposed'],
  },
  {
    name: 'EXPOSE 53/udp does not open tcp 53',
    rules: [],
    connection: { direction: 'INGRESS', protocol: TCP, port: 53, remote: '198.51.100.7' },
    want: ['deny', 'not-exposed'],
  },
  {
    name: 'an ingress deny from a range closes an EXPOSEd port to it only',
    rules: [rule({ name: 'deny-lab', direction: 'INGRESS', action: 'deny', sourceRanges: ['198.51.100.0/24'] })],
    connection: { direction: 'INGRESS', protocol: TCP, port: 80, remote: '198.51.100.7' },
    want: ['deny', 'deny-lab'],
  },
  {
    name: 'the ingress deny does not touch other sources',
    rules: [rule({ name: 'deny-lab', direction: 'INGRESS', action: 'deny', sourceRanges: ['198.51.100.0/24'] })],
    connection: { direction: 'INGRESS', protocol: TCP, port: 80, remote: '203.0.113.1' },
    want: ['allow', 'implied-allow-exposed'],
  },
  {
    name: 'an egress allow-list: deny all at 2000, allow one range at 1000',
    rules: [
      rule({ name: 'deny-all', priority: 2000, action: 'deny', destinationRanges: ['0.0.0.0/0'] }),
      rule({ name: 'allow-corp', priority: 1000, destinationRanges: ['192.0.2.0/24'] }),
    ],
    connection: { direction: 'EGRESS', protocol: TCP, port: 443, remote: '192.0.2.10' },
    want: ['allow', 'allow-corp'],
  },
  {
    name: 'the allow-list refuses what it does not list',
    rules: [
      rule({ name: 'deny-all', priority: 2000, action: 'deny', destinationRanges: ['0.0.0.0/0'] }),
      rule({ name: 'allow-corp', priority: 1000, destinationRanges: ['192.0.2.0/24'] }),
    ],
    connection: { direction: 'EGRESS', protocol: TCP, port: 443, remote: '8.8.8.8' },
    want: ['deny', 'deny-all'],
  },
  {
    name: 'at equal priority a deny wins over an allow',
    rules: [
      rule({ name: 'a-allow', destinationRanges: ['0.0.0.0/0'] }),
      rule({ name: 'b-deny', action: 'deny', destinationRanges: ['0.0.0.0/0'] }),
    ],
    connection: { direction: 'EGRESS', protocol: TCP, port: 443, remote: '8.8.8.8' },
    want: ['deny', 'b-deny'],
  },
  {
    name: 'ports and protocol narrow a rule',
    rules: [
      rule({
        name: 'deny-smtp',
        action: 'deny',
        destinationRanges: ['0.0.0.0/0'],
        matches: [
          {
            protocol: TCP,
            ports: [
              { from: 25, to: 25 },
              { from: 465, to: 587 },
            ],
          },
        ],
      }),
    ],
    connection: { direction: 'EGRESS', protocol: TCP, port: 500, remote: '8.8.8.8' },
    want: ['deny', 'deny-smtp'],
  },
  {
    name: 'a port outside the ranges passes',
    rules: [
      rule({
        name: 'deny-smtp',
        action: 'deny',
        destinationRanges: ['0.0.0.0/0'],
        matches: [{ protocol: TCP, ports: [{ from: 25, to: 25 }] }],
      }),
    ],
    connection: { direction: 'EGRESS', protocol: UDP, port: 25, remote: '8.8.8.8' },
    want: ['allow', 'implied-allow-egress'],
  },
];

for (const c of cases) {
  test(`firewall: ${c.name}`, () => {
    const rules = rulesForInstance(c.rules, target, c.connection.direction);
    const verdict = evaluateFirewall(rules, c.connection, exposed);
    assert.deepEqual([verdict.action, verdict.rule], c.want);
  });
}

const targeting: { name: string; rule: FirewallRule; applies: boolean }[] = [
  { name: 'no target: every instance', rule: rule({ name: 'r' }), applies: true },
  { name: 'a tag the instance has', rule: rule({ name: 'r', targetTags: ['db', 'web'] }), applies: true },
  { name: 'a tag the instance lacks', rule: rule({ name: 'r', targetTags: ['db'] }), applies: false },
  {
    name: 'the instance service account',
    rule: rule({ name: 'r', targetServiceAccounts: ['sa@p.iam.gserviceaccount.com'] }),
    applies: true,
  },
  { name: 'another service account', rule: rule({ name: 'r', targetServiceAccounts: ['x@p.iam'] }), applies: false },
  { name: 'a disabled rule', rule: rule({ name: 'r', disabled: true }), applies: false },
  { name: 'the other direction', rule: rule({ name: 'r', direction: 'INGRESS' }), applies: false },
  {
    name: 'egress from a source range holding the instance',
    rule: rule({ name: 'r', sourceRanges: ['10.213.0.0/16'] }),
    applies: true,
  },
  {
    name: 'egress from a source range without it',
    rule: rule({ name: 'r', sourceRanges: ['10.9.0.0/16'] }),
    applies: false,
  },
];

for (const c of targeting) {
  test(`firewall target: ${c.name} → ${c.applies ? 'applies' : 'skipped'}`, () => {
    assert.equal(rulesForInstance([c.rule], target, 'EGRESS').length, c.applies ? 1 : 0);
  });
}
