import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { TPM_ALG } from '../tpm/constants.ts';
import { CEL_TYPE, celRecordFor, decodeCel, encodeCel, replayCel } from './cel.ts';
import type { CelRecordInput } from './cel.ts';
import { COS_TYPE, encodeCosContent, parseCosState, verifyCosReplay } from './cos.ts';

const ALGS = [TPM_ALG.SHA256, TPM_ALG.SHA384];

function logOf(events: ReadonlyArray<readonly [number, string | Uint8Array]>, algs = ALGS): Buffer {
  const records: CelRecordInput[] = events.map(([type, value], i) =>
    celRecordFor(BigInt(i), CEL_TYPE.PCR, 13, encodeCosContent(type, value), algs),
  );
  return encodeCel(records);
}

const GOOD: ReadonlyArray<readonly [number, string | Uint8Array]> = [
  [COS_TYPE.IMAGE_REF, 'registry/p/r/img@sha256:' + 'a'.repeat(64)],
  [COS_TYPE.IMAGE_DIGEST, 'sha256:' + 'a'.repeat(64)],
  [COS_TYPE.RESTART_POLICY, 'Never'],
  [COS_TYPE.IMAGE_ID, 'sha256:' + 'e'.repeat(64)],
  [COS_TYPE.ARG, '/bin/app'],
  [COS_TYPE.ARG, '--flag'],
  [COS_TYPE.ENV_VAR, 'PATH=/bin'],
  [COS_TYPE.ENV_VAR, 'baz=foo=bar'],
  [COS_TYPE.ENV_VAR, 'empty='],
  [COS_TYPE.OVERRIDE_ENV, 'MODE=fast'],
  [COS_TYPE.OVERRIDE_ARG, '--flag'],
  [COS_TYPE.MEMORY_MONITOR, Uint8Array.of(1)],
  [COS_TYPE.LAUNCH_SEPARATOR, ''],
];

describe('COS content TLVs (launcher.md §4 vectors)', () => {
  it('encodes RestartPolicy Never exactly as the real log does, with its SHA-256 digest', () => {
    const content = encodeCosContent(COS_TYPE.RESTART_POLICY, 'Never');
    assert.equal(content.toString('hex'), '500000000a02000000054e65766572');
    assert.equal(
      createHash('sha256').update(content).digest('hex'),
      '5689560f7efba24ff1f79bfdb4477884561ca0fa3a75d929033dd21a92ef2769',
    );
    assert.ok(createHash('sha384').update(content).digest('hex').startsWith('83e4db2e'));
  });

  it('encodes the launch separator as 50 00000005 08 00000000', () => {
    assert.equal(encodeCosContent(COS_TYPE.LAUNCH_SEPARATOR, '').toString('hex'), '50000000050800000000');
  });
});

describe('canonical event log', () => {
  it('round-trips byte for byte through decode and encode', () => {
    const bytes = logOf(GOOD);
    assert.deepEqual(encodeCel(decodeCel(bytes)), bytes);
  });

  it('replays into PCR 13 of each bank as MR = H(MR || digest) from zero', () => {
    const records = decodeCel(logOf(GOOD.slice(0, 2)));
    let mr = Buffer.alloc(48);
    for (const r of records) mr = createHash('sha384').update(mr).update(r.digests.get(TPM_ALG.SHA384)!).digest();
    assert.deepEqual(replayCel(records, TPM_ALG.SHA384, CEL_TYPE.PCR, 13), mr);
  });

  it('reads the container state the verifier expects, splitting env at the first =', () => {
    const state = parseCosState(decodeCel(logOf(GOOD)));
    assert.deepEqual(state.container, {
      imageReference: 'registry/p/r/img@sha256:' + 'a'.repeat(64),
      imageDigest: 'sha256:' + 'a'.repeat(64),
      restartPolicy: 'Never',
      imageId: 'sha256:' + 'e'.repeat(64),
      args: ['/bin/app', '--flag'],
      envVars: { PATH: '/bin', baz: 'foo=bar', empty: '' },
      overriddenArgs: ['--flag'],
      overriddenEnvVars: { MODE: 'fast' },
    });
    assert.equal(state.memoryMonitoring, true);
    assert.equal(state.separatorSeen, true);
  });

  it('accepts a log without a separator', () => {
    assert.equal(parseCosState(decodeCel(logOf(GOOD.slice(0, -1)))).separatorSeen, false);
  });

  const refusals: ReadonlyArray<{ name: string; events: ReadonlyArray<readonly [number, string | Uint8Array]> }> = [
    { name: 'an event after the separator', events: [...GOOD, [COS_TYPE.ARG, 'late']] },
    {
      name: 'an unknown COS type',
      events: [
        [COS_TYPE.IMAGE_REF, 'x'],
        [42, 'x'],
      ],
    },
    {
      name: 'a second ImageRef',
      events: [
        [COS_TYPE.IMAGE_REF, 'x'],
        [COS_TYPE.IMAGE_REF, 'y'],
      ],
    },
    {
      name: 'a second ImageDigest',
      events: [
        [COS_TYPE.IMAGE_DIGEST, 'x'],
        [COS_TYPE.IMAGE_DIGEST, 'y'],
      ],
    },
    {
      name: 'a second ImageID',
      events: [
        [COS_TYPE.IMAGE_ID, 'x'],
        [COS_TYPE.IMAGE_ID, 'y'],
      ],
    },
    { name: 'a RestartPolicy that is not an enum name', events: [[COS_TYPE.RESTART_POLICY, 'never']] },
    { name: 'an env name failing the regex', events: [[COS_TYPE.ENV_VAR, 'http-proxy=x']] },
    { name: 'an override env name failing the regex', events: [[COS_TYPE.OVERRIDE_ENV, '1X=x']] },
    { name: 'an env entry without =', events: [[COS_TYPE.ENV_VAR, 'PATH']] },
    { name: 'a MemoryMonitor that is not one byte', events: [[COS_TYPE.MEMORY_MONITOR, Uint8Array.of(1, 1)]] },
  ];
  for (const { name, events } of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseCosState(decodeCel(logOf(events))), { code: 'ERR_ATTEST_CEL_REJECTED' });
    });
  }

  it('refuses a record whose digest does not match its content', () => {
    const records = decodeCel(logOf(GOOD)).map((r, i) =>
      i === 4 ? { ...r, content: encodeCosContent(COS_TYPE.ARG, '/bin/evil') } : r,
    );
    assert.throws(() => parseCosState(decodeCel(encodeCel(records))), { code: 'ERR_ATTEST_CEL_REJECTED' });
  });

  it('refuses a record for another PCR', () => {
    const records = decodeCel(logOf(GOOD)).map((r) => ({ ...r, index: 14 }));
    assert.throws(() => parseCosState(records), { code: 'ERR_ATTEST_CEL_REJECTED' });
  });

  describe('replay against the quoted PCR 13', () => {
    const records = decodeCel(logOf(GOOD));
    const quoted = replayCel(records, TPM_ALG.SHA256, CEL_TYPE.PCR, 13);
    const variants: ReadonlyArray<[string, typeof records]> = [
      ['an inserted event', [...records.slice(0, 5), records[5]!, ...records.slice(5)]],
      ['a removed event', [...records.slice(0, 5), ...records.slice(6)]],
      ['reordered events', [records[1]!, records[0]!, ...records.slice(2)]],
    ];
    it('accepts the log as measured', () => verifyCosReplay(records, TPM_ALG.SHA256, quoted));
    for (const [name, tampered] of variants) {
      it(`refuses ${name}`, () => {
        assert.throws(() => verifyCosReplay(tampered, TPM_ALG.SHA256, quoted), { code: 'ERR_ATTEST_REPLAY_MISMATCH' });
      });
    }
  });

  it('refuses a truncated log with a typed error', () => {
    const bytes = logOf(GOOD);
    assert.throws(() => decodeCel(bytes.subarray(0, bytes.length - 1)), { code: 'ERR_ATTEST_MALFORMED_CEL' });
  });
});
