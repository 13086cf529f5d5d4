import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { TPM_ALG } from '../tpm/constants.ts';
import { CEL_TYPE, celRecordFor, decodeCel, encodeCel, replayCel } from './cel.ts';
import type { CelIndexType, CelRecordInput } from './cel.ts';
import { COS_TYPE, bindCosLog, encodeCosContent, parseCosState } from './cos.ts';

const ALGS: number[] = [TPM_ALG.SHA256, TPM_ALG.SHA384];

function logOf(
  events: ReadonlyArray<readonly [number, string | Uint8Array]>,
  algs = ALGS,
  register: readonly [CelIndexType, number] = [CEL_TYPE.PCR, 13],
): Buffer {
  const records: CelRecordInput[] = events.map(([type, value], i) =>
    celRecordFor(BigInt(i), register[0], register[1], encodeCosContent(type, value), algs),
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

describe('COS content TLVs (vectors checked against a real Confidential Space log)', () => {
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
    const state = parseCosState(decodeCel(logOf(GOOD)), 'tpm');
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

  it("reads Sealroom's TrustedCA event as the CA digest, and a log without it has none", () => {
    const ca = `sha256:${'c'.repeat(64)}`;
    const withCa = [...GOOD.slice(0, -1), [COS_TYPE.SEALROOM_TRUSTED_CA, ca] as const, GOOD.at(-1)!];
    assert.equal(parseCosState(decodeCel(logOf(withCa)), 'tpm').trustedCaDigest, ca);
    assert.equal(parseCosState(decodeCel(logOf(GOOD)), 'tpm').trustedCaDigest, undefined);
  });

  it('accepts a log without a separator', () => {
    assert.equal(parseCosState(decodeCel(logOf(GOOD.slice(0, -1))), 'tpm').separatorSeen, false);
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
    { name: 'a TrustedCA that is not a sha256: digest', events: [[COS_TYPE.SEALROOM_TRUSTED_CA, 'sha256:abc']] },
    {
      name: 'a second TrustedCA',
      events: [
        [COS_TYPE.SEALROOM_TRUSTED_CA, `sha256:${'c'.repeat(64)}`],
        [COS_TYPE.SEALROOM_TRUSTED_CA, `sha256:${'d'.repeat(64)}`],
      ],
    },
  ];
  for (const { name, events } of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseCosState(decodeCel(logOf(events)), 'tpm'), { code: 'ERR_ATTEST_CEL_REJECTED' });
    });
  }

  it('refuses a record whose digest does not match its content', () => {
    const records = decodeCel(logOf(GOOD)).map((r, i) =>
      i === 4 ? { ...r, content: encodeCosContent(COS_TYPE.ARG, '/bin/evil') } : r,
    );
    assert.throws(() => parseCosState(decodeCel(encodeCel(records)), 'tpm'), { code: 'ERR_ATTEST_CEL_REJECTED' });
  });

  it('refuses a record for another PCR, naming the launch register', () => {
    const records = decodeCel(logOf(GOOD)).map((r) => ({ ...r, index: 14 }));
    assert.throws(() => parseCosState(records, 'tpm'), { code: 'ERR_ATTEST_CEL_INDEX_TYPE', message: /PCR 13/ });
  });

  describe('the index type fits the evidence: PCR 13 for TPM, RTMR 3 (CC MR 4) for TDX', () => {
    const tdxLog = decodeCel(logOf(GOOD, [TPM_ALG.SHA384], [CEL_TYPE.CCMR, 4]));
    it('reads a TDX log (CC MR 4) as TDX evidence', () => {
      assert.equal(parseCosState(tdxLog, 'tdx').container.restartPolicy, 'Never');
    });
    it('refuses CC MR records in TPM evidence, naming PCR 13', () => {
      assert.throws(() => parseCosState(tdxLog, 'tpm'), {
        code: 'ERR_ATTEST_CEL_INDEX_TYPE',
        message: /is for CC MR 4, but TPM evidence measures the launch into PCR 13/,
      });
    });
    it('refuses PCR records in TDX evidence, naming RTMR 3', () => {
      assert.throws(() => parseCosState(decodeCel(logOf(GOOD)), 'tdx'), {
        code: 'ERR_ATTEST_CEL_INDEX_TYPE',
        message: /is for PCR 13, but TDX evidence measures the launch into RTMR 3/,
      });
    });
    it('refuses a log that mixes both', () => {
      const mixed = [...decodeCel(logOf(GOOD.slice(0, 2))), ...tdxLog.slice(2)];
      assert.throws(() => parseCosState(mixed, 'tpm'), { code: 'ERR_ATTEST_CEL_INDEX_TYPE' });
    });
  });

  it('refuses record numbers that do not count up from 0', () => {
    const records = decodeCel(logOf(GOOD)).map((r, i) => (i === 3 ? { ...r, recnum: 7n } : r));
    assert.throws(() => decodeCel(encodeCel(records)), { code: 'ERR_ATTEST_MALFORMED_CEL' });
  });

  describe('binding to the quoted PCR 13', () => {
    const records = decodeCel(logOf(GOOD));
    const quoted = new Map(ALGS.map((alg) => [alg, replayCel(records, alg, CEL_TYPE.PCR, 13)]));
    const variants: ReadonlyArray<[string, typeof records]> = [
      ['an inserted event', [...records.slice(0, 5), records[5]!, ...records.slice(5)]],
      ['a removed event', [...records.slice(0, 5), ...records.slice(6)]],
      ['reordered events', [records[1]!, records[0]!, ...records.slice(2)]],
    ];
    it('accepts the log as measured, in every quoted bank', () => {
      assert.deepEqual(bindCosLog(records, quoted, 'tpm'), ALGS);
    });
    for (const [name, tampered] of variants) {
      it(`refuses ${name}`, () => {
        assert.throws(() => bindCosLog(tampered, quoted, 'tpm'), { code: 'ERR_ATTEST_REPLAY_MISMATCH' });
      });
    }
    it('replays every quoted bank: a wrong SHA-384 value is refused even when SHA-256 matches', () => {
      const wrong = new Map(quoted).set(TPM_ALG.SHA384, Buffer.alloc(48));
      assert.throws(() => bindCosLog(records, wrong, 'tpm'), { code: 'ERR_ATTEST_REPLAY_MISMATCH' });
    });
    it('refuses a log that shares no quoted bank stronger than SHA-1', () => {
      const sha1Log = decodeCel(logOf(GOOD, [TPM_ALG.SHA1]));
      const sha1Quoted = new Map([
        [TPM_ALG.SHA1, replayCel(sha1Log, TPM_ALG.SHA1, CEL_TYPE.PCR, 13)],
        [TPM_ALG.SHA256, quoted.get(TPM_ALG.SHA256)!],
      ]);
      assert.throws(() => bindCosLog(sha1Log, sha1Quoted, 'tpm'), { code: 'ERR_ATTEST_EVENT_LOG_UNBOUND' });
    });
    it('refuses records that carry different banks', () => {
      const mixed = [...records.slice(0, 3), ...decodeCel(logOf(GOOD, [TPM_ALG.SHA256])).slice(3)];
      assert.throws(() => bindCosLog(mixed, quoted, 'tpm'), { code: 'ERR_ATTEST_CEL_REJECTED' });
    });
  });

  it('refuses a truncated log with a typed error', () => {
    const bytes = logOf(GOOD);
    assert.throws(() => decodeCel(bytes.subarray(0, bytes.length - 1)), { code: 'ERR_ATTEST_MALFORMED_CEL' });
  });
});
