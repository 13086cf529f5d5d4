import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBuildConfig, toLaunchPolicyLabels } from './build-config.ts';
import { BuilderError } from './errors.ts';

describe('launch policy labels', () => {
  const table: [string, Parameters<typeof toLaunchPolicyLabels>[0], Record<string, string>][] = [
    [
      'env names comma-joined',
      { allow_env_override: ['A', 'B_2'] },
      { 'tee.launch_policy.allow_env_override': 'A,B_2' },
    ],
    [
      'booleans as true/false',
      { allow_cmd_override: true, allow_cgroups: false },
      { 'tee.launch_policy.allow_cmd_override': 'true', 'tee.launch_policy.allow_cgroups': 'false' },
    ],
    [
      'mounts colon-joined',
      { allow_mount_destinations: ['/run/tmp', '/var/tmp'] },
      { 'tee.launch_policy.allow_mount_destinations': '/run/tmp:/var/tmp' },
    ],
    [
      'monitoring values as given',
      { hardened_monitoring: 'memoryonly', debug_monitoring: 'all' },
      { 'tee.launch_policy.hardened_monitoring': 'memoryonly', 'tee.launch_policy.debug_monitoring': 'all' },
    ],
    ['log redirect', { log_redirect: 'always' }, { 'tee.launch_policy.log_redirect': 'always' }],
  ];
  for (const [name, policy, labels] of table) {
    it(`renders ${name}`, () => assert.deepEqual(toLaunchPolicyLabels(policy), labels));
  }
});

describe('parseBuildConfig', () => {
  it('rejects unknown keys, legacy monitoring mixed with the new keys, and launch policy set as raw labels', () => {
    const bad: unknown[] = [
      { entrypiont: ['x'] },
      { launchPolicy: { monitoring_memory_allow: 'always', hardened_monitoring: 'all' } },
      { launchPolicy: { log_redirect: 'sometimes' } },
      { labels: { 'tee.launch_policy.allow_cmd_override': 'true' } },
      { expose: ['80/sctp'] },
    ];
    for (const input of bad)
      assert.throws(() => parseBuildConfig(input, { entry: 'index.js' }), BuilderError, JSON.stringify(input));
  });

  it('renders outputPolicy as the canonical sealroom.output_policy label, and refuses a bad one or a raw label', () => {
    const config = parseBuildConfig({ outputPolicy: { min_count: 2, min_collaborators: 3 } }, { entry: 'index.js' });
    assert.equal(config.labels['sealroom.output_policy'], '{"min_collaborators":3,"min_count":2}');
    assert.throws(
      () => parseBuildConfig({ outputPolicy: { min_collaborators: 0 } }, { entry: 'index.js' }),
      /outputPolicy.*min_collaborators/,
    );
    assert.throws(
      () => parseBuildConfig({ labels: { 'sealroom.output_policy': '{}' } }, { entry: 'index.js' }),
      /through outputPolicy/,
    );
  });

  it('normalises ports to N/proto, sorted and deduplicated', () => {
    const config = parseBuildConfig({ expose: [8080, '53/udp', '8080/tcp'] }, { entry: 'index.js' });
    assert.deepEqual(config.exposedPorts, ['53/udp', '8080/tcp']);
  });
});
