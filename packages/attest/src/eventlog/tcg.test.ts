import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { vectorPath } from '../test-vectors.ts';
import { loadGceVector } from '../test-vectors.ts';
import { TPM_ALG, digest } from '../tpm/constants.ts';
import { EV, encodeTcgEventLog, kernelCmdlineEvent, parseTcgEventLog, replayTcgEventLog } from './tcg.ts';
import type { TcgEventInput } from './tcg.ts';

const bytes = readFileSync(vectorPath('eventlog', 'cos-85-amd-sev.bin'));
const expected = JSON.parse(readFileSync(vectorPath('eventlog', 'expected.json'), 'utf8')).logs['cos-85-amd-sev.bin'];

describe('TCG crypto-agile event log: COS 85 AMD SEV (shared vector)', () => {
  const log = parseTcgEventLog(bytes);

  it('reads the Spec ID header banks and every event', () => {
    assert.deepEqual(Object.fromEntries(log.algorithms), expected.specIdAlgorithms);
    assert.equal(log.events.length + 1, expected.eventCount);
  });

  const banks: Record<string, Record<string, string>> = {
    '4': expected.expectedPcrs['4'],
    '11': expected.expectedPcrs['11'],
    '12': expected.computedSha384Pcrs,
  };
  for (const [alg, pcrs] of Object.entries(banks)) {
    it(`replays bank ${alg} to PCR 0-9 of expected.json`, () => {
      const replayed = replayTcgEventLog(log, Number(alg));
      const got = Object.fromEntries([...replayed].map(([pcr, value]) => [String(pcr), value.toString('hex')]));
      const want = Object.fromEntries(Object.entries(pcrs).filter(([k]) => !k.startsWith('_')));
      assert.deepEqual(got, want);
    });
  }

  it('finds the PCR 4 EFI application digests in log order', () => {
    for (const alg of ['4', '11', '12']) {
      const apps = log.events
        .filter((e) => e.pcrIndex === 4 && e.eventType === EV.EFI_BOOT_SERVICES_APPLICATION)
        .map((e) => Buffer.from(e.digests.get(Number(alg))!).toString('hex'));
      assert.deepEqual(apps, expected.expectedEfiAppDigests[alg]);
    }
  });

  it('measures exactly two GRUB files into PCR 9', () => {
    assert.equal(log.events.filter((e) => e.pcrIndex === 9 && e.eventType === EV.IPL).length, expected.grubFiles);
  });

  it('gives a different PCR when one event digest changes', () => {
    const tampered = Buffer.from(bytes);
    const at = tampered.indexOf(Buffer.from(expected.expectedEfiAppDigests['11'][0], 'hex'));
    tampered[at]! ^= 1;
    const replayed = replayTcgEventLog(parseTcgEventLog(tampered), TPM_ALG.SHA256);
    assert.notEqual(replayed.get(4)?.toString('hex'), expected.expectedPcrs['11']['4']);
  });

  it('refuses a truncated log with a typed error', () => {
    assert.throws(() => parseTcgEventLog(bytes.subarray(0, bytes.length - 3)), {
      code: 'ERR_ATTEST_MALFORMED_EVENT_LOG',
    });
  });
});

describe('TCG event log production', () => {
  it('round-trips a produced log and replays it like the real one', () => {
    const algs = [TPM_ALG.SHA256, TPM_ALG.SHA384];
    const bytes2 = encodeTcgEventLog(algs, [
      { pcrIndex: 0, eventType: EV.S_CRTM_VERSION, data: Buffer.from('soft') },
      kernelCmdlineEvent('console=ttyS0 confidential-space.hardened=true', algs),
    ]);
    const log = parseTcgEventLog(bytes2);
    assert.equal(log.events.length, 2);
    assert.equal(
      Buffer.from(log.events[1]!.data).toString(),
      'kernel_cmdline: console=ttyS0 confidential-space.hardened=true\0',
    );
    assert.equal(replayTcgEventLog(log, TPM_ALG.SHA384).get(8)?.length, 48);
  });

  it('uses the GCE vector log too', () => {
    const vector = loadGceVector();
    const log = parseTcgEventLog(vector.eventLog);
    const replayed = replayTcgEventLog(log, TPM_ALG.SHA256);
    const quoted = vector.quotes.find((q) => q.hashAlgo === TPM_ALG.SHA256)!.pcrValues;
    for (let pcr = 0; pcr <= 9; pcr++) assert.deepEqual(replayed.get(pcr), quoted.get(pcr));
  });
});

describe('TCG event log: what the parser and replay refuse', () => {
  const algs = [TPM_ALG.SHA256];
  const locality = (n: number): TcgEventInput => ({
    pcrIndex: 0,
    eventType: EV.NO_ACTION,
    data: Buffer.concat([Buffer.from('StartupLocality\0', 'latin1'), Buffer.of(n)]),
    digests: new Map([[TPM_ALG.SHA256, Buffer.alloc(32)]]),
  });
  const crtm: TcgEventInput = { pcrIndex: 0, eventType: EV.S_CRTM_VERSION, data: Buffer.from('fw') };

  it('starts PCR 0 at the locality of a StartupLocality event that comes first', () => {
    const replayed = replayTcgEventLog(parseTcgEventLog(encodeTcgEventLog(algs, [locality(3), crtm])), TPM_ALG.SHA256);
    const start = Buffer.alloc(32);
    start[31] = 3;
    assert.deepEqual(replayed.get(0), digest(TPM_ALG.SHA256, start, digest(TPM_ALG.SHA256, Buffer.from('fw'))));
  });

  it('refuses a StartupLocality event after PCR 0 was extended (it would erase earlier events)', () => {
    const log = parseTcgEventLog(encodeTcgEventLog(algs, [crtm, locality(0), crtm]));
    assert.throws(() => replayTcgEventLog(log, TPM_ALG.SHA256), { code: 'ERR_ATTEST_MALFORMED_EVENT_LOG' });
  });

  const header = encodeTcgEventLog(algs, []);
  const oneEvent = (type: number, digests: Array<[number, Uint8Array]>): Buffer => {
    const w = Buffer.alloc(12);
    w.writeUInt32LE(0, 0);
    w.writeUInt32LE(type, 4);
    w.writeUInt32LE(digests.length, 8);
    const parts = digests.map(([alg, d]) => Buffer.concat([Buffer.from([alg & 0xff, alg >> 8]), d]));
    return Buffer.concat([header, w, ...parts, Buffer.from('00000000', 'hex')]);
  };
  const d32 = Buffer.alloc(32, 1);
  const refused: ReadonlyArray<[string, Buffer]> = [
    ['an event type outside the PFP ranges', oneEvent(0x13, [[TPM_ALG.SHA256, d32]])],
    ['an event type the PFP does not define', oneEvent(0x800000fd, [[TPM_ALG.SHA256, d32]])],
    ['an event that misses a bank of the header', oneEvent(EV.IPL, [])],
    [
      'an event that repeats a bank',
      oneEvent(EV.IPL, [
        [TPM_ALG.SHA256, d32],
        [TPM_ALG.SHA256, d32],
      ]),
    ],
    ['a Spec ID event for another PCR', Buffer.concat([Buffer.of(1), header.subarray(1)])],
    ['a Spec ID event with a digest', Buffer.concat([header.subarray(0, 8), Buffer.of(1), header.subarray(9)])],
  ];
  for (const [name, bytes2] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseTcgEventLog(bytes2), { code: 'ERR_ATTEST_MALFORMED_EVENT_LOG' });
    });
  }
});
