import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadGceVector, vectorPath } from '../test-vectors.ts';
import { TPM_ALG, digest } from '../tpm/constants.ts';
import { extractBootState, normalizeCmdline } from './boot-state.ts';
import { EV, encodeTcgEventLog, parseTcgEventLog } from './tcg.ts';
import type { TcgEvent, TcgEventInput } from './tcg.ts';
import { EFI_GUID, encodeUefiVariable, parseUefiVariable } from './uefi.ts';

const BANKS = [TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384];
const bytes = readFileSync(vectorPath('eventlog', 'cos-85-amd-sev.bin'));
const expected = JSON.parse(readFileSync(vectorPath('eventlog', 'expected.json'), 'utf8')).logs['cos-85-amd-sev.bin'];
const log = parseTcgEventLog(bytes);
/** SHA-256 of the DER of Google's COS db certificate v10 (confidential-space `server/image/data/cos_db_v10.pem`). */
const COS_DB_V10 = 'a7b8c851deb2acba7c7d0e6ec091c93440f942c65d776fdcb58016f8fd1674b0';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fingerprint = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('boot state of the real COS 85 log (shared vector)', () => {
  const state = extractBootState(log, BANKS);

  it('reads Secure Boot on, with the COS v10 keys: one db certificate, no db hash', () => {
    assert.equal(state.secureBoot.enabled, true);
    assert.deepEqual(state.secureBoot.db.certificates.map(fingerprint), [COS_DB_V10]);
    assert.equal(state.secureBoot.db.hashes.length, 0);
    assert.equal(state.secureBoot.pk.certificates.length, 1);
    assert.equal(state.secureBoot.kek.certificates.length, 1);
    assert.equal(state.secureBoot.dbx.certificates.length, 4);
    // shim's authority events, two of them logged without the signature owner GUID, all name the db key.
    assert.deepEqual(state.secureBoot.authority.map(fingerprint), [COS_DB_V10, COS_DB_V10, COS_DB_V10]);
  });

  it('reads the EFI boot applications of every bank in boot order', () => {
    for (const alg of BANKS) {
      assert.deepEqual(state.bootApplications?.get(alg)?.map(hex), expected.expectedEfiAppDigests[String(alg)]);
    }
  });

  it('reads the kernel command line, trailing NUL included, and normalises it for the image database', () => {
    assert.equal(state.kernelCmdline, expected.kernelCmdline.value.replace(/^kernel_cmdline: /, ''));
    assert.equal(normalizeCmdline(state.kernelCmdline!), expected.kernelCmdline.value.replace(/\0$/, ''));
    assert.equal(state.grubCommands.length, 15);
  });

  it('reads the S-CRTM version', () => {
    assert.equal(Buffer.from(state.scrtmVersion!).toString('utf16le'), `${expected.platform.scrtmVersion}\0`);
  });

  it('reads the same state from the GCE attestation log', () => {
    const gce = extractBootState(parseTcgEventLog(loadGceVector().eventLog), BANKS);
    assert.deepEqual(gce.secureBoot.db.certificates.map(fingerprint), [COS_DB_V10]);
    assert.deepEqual(gce.bootApplications?.get(TPM_ALG.SHA256)?.map(hex), expected.expectedEfiAppDigests['11']);
    assert.equal(normalizeCmdline(gce.kernelCmdline!), normalizeCmdline(state.kernelCmdline!));
  });

  it('reads only the banks it is given', () => {
    const sha256 = extractBootState(log, [TPM_ALG.SHA256]);
    assert.deepEqual([...sha256.bootApplications!.keys()], [TPM_ALG.SHA256]);
  });
});

/** The real log as inputs; `edit` may change any event, and a changed event gets H(data) in every bank. */
function editedLog(edit: (events: TcgEventInput[]) => TcgEventInput[]): Buffer {
  const inputs = log.events.map((e: TcgEvent): TcgEventInput => ({ ...e }));
  return encodeTcgEventLog(BANKS, edit(inputs));
}
const indexOf = (events: readonly TcgEventInput[], pcr: number, type: number, nth = 0): number =>
  events.map((e, i) => [e, i] as const).filter(([e]) => e.pcrIndex === pcr && e.eventType === type)[nth]![1];
const recomputed = (event: TcgEventInput, data: Uint8Array): TcgEventInput => ({
  pcrIndex: event.pcrIndex,
  eventType: event.eventType,
  data,
});
const withVariable = (event: TcgEventInput, change: (v: ReturnType<typeof parseUefiVariable>) => object) =>
  recomputed(event, encodeUefiVariable({ ...parseUefiVariable(event.data), ...change(parseUefiVariable(event.data)) }));
const moved = (events: TcgEventInput[], from: number, to: number): TcgEventInput[] => {
  const out = [...events];
  const [event] = out.splice(from, 1);
  out.splice(to, 0, event!);
  return out;
};
const flip = (data: Uint8Array, at: number): Buffer => {
  const out = Buffer.from(data);
  out[at]! ^= 1;
  return out;
};
const inAllBanks = (data: Uint8Array) => new Map(BANKS.map((alg) => [alg, digest(alg, data)]));
const ACTION = (text: string, pcrIndex = 7): TcgEventInput => ({
  pcrIndex,
  eventType: EV.EFI_ACTION,
  data: Buffer.from(text, 'latin1'),
});

describe('boot-state rules (each breaks one rule of Google verifier on the real log)', () => {
  const sbVar = (events: TcgEventInput[]) => indexOf(events, 7, EV.EFI_VARIABLE_DRIVER_CONFIG, 0);
  const dbVar = (events: TcgEventInput[]) => indexOf(events, 7, EV.EFI_VARIABLE_DRIVER_CONFIG, 3);
  const separator7 = (events: TcgEventInput[]) => indexOf(events, 7, EV.SEPARATOR);
  const cases: ReadonlyArray<[string, (events: TcgEventInput[]) => TcgEventInput[], string]> = [
    [
      'a second separator in PCR 4',
      (e) => [...e, { pcrIndex: 4, eventType: EV.SEPARATOR, data: new Uint8Array(4) }],
      'a second separator in PCR 4',
    ],
    [
      'a separator digest under another type',
      (e) => [...e, { pcrIndex: 6, eventType: EV.IPL, data: new Uint8Array(4) }],
      "has a separator's digest but another type",
    ],
    [
      'an error separator (FFFFFFFF)',
      (e) =>
        e.map((x) => (x.eventType === EV.SEPARATOR && x.pcrIndex === 3 ? recomputed(x, Buffer.alloc(4, 0xff)) : x)),
      "separator's data is not 00000000",
    ],
    [
      'a forged S-CRTM version',
      (e) => e.map((x, i) => (i === 0 ? { ...x, data: Buffer.from('forged') } : x)),
      'the event data does not match its digest',
    ],
    [
      'a Secure Boot variable after the separator',
      (e) => moved(e, sbVar(e), separator7(e)),
      'SecureBoot measured after the separator',
    ],
    [
      'a variable measured twice',
      (e) => [...e.slice(0, sbVar(e) + 1), e[sbVar(e)]!, ...e.slice(sbVar(e) + 1)],
      'SecureBoot measured twice',
    ],
    [
      'a variable whose digest does not bind it',
      (e) => e.map((x, i) => (i === dbVar(e) ? { ...x, data: flip(x.data, 100) } : x)),
      'the event data does not match its digest',
    ],
    [
      'db under another vendor GUID',
      (e) => e.map((x, i) => (i === dbVar(e) ? withVariable(x, () => ({ vendor: EFI_GUID.GLOBAL_VARIABLE })) : x)),
      'db under another vendor GUID',
    ],
    [
      'SecureBoot = 2',
      (e) => e.map((x, i) => (i === sbVar(e) ? withVariable(x, () => ({ data: Uint8Array.of(2) })) : x)),
      'SecureBoot is not 0 or 1',
    ],
    [
      'a GPT event whose data was edited',
      (e) => e.map((x) => (x.eventType === EV.EFI_GPT_EVENT ? { ...x, data: flip(x.data, 10) } : x)),
      'the event data does not match its digest',
    ],
    [
      'a boot variable under another vendor GUID',
      (e) =>
        e.map((x) =>
          x.eventType === EV.EFI_VARIABLE_BOOT
            ? { ...x, data: Buffer.concat([EFI_GUID.IMAGE_SECURITY_DATABASE, x.data.subarray(16)]) }
            : x,
        ),
      'not a boot variable',
    ],
    [
      'a boot variable whose value was edited',
      (e) => e.map((x) => (x.eventType === EV.EFI_VARIABLE_BOOT ? { ...x, data: flip(x.data, x.data.length - 1) } : x)),
      'the boot variable does not match its digest',
    ],
    [
      'a UEFI debugger',
      (e) => [...e.slice(0, separator7(e)), ACTION('UEFI Debug Mode'), ...e.slice(separator7(e))],
      'a UEFI debugger was present',
    ],
    [
      'another EFI action in PCR 7',
      (e) => [...e.slice(0, separator7(e)), ACTION('Hello'), ...e.slice(separator7(e))],
      'an unexpected EFI action',
    ],
    [
      'an event type that does not belong in PCR 7',
      (e) => [...e, { pcrIndex: 7, eventType: EV.IPL, data: Buffer.from('x') }],
      'does not belong in PCR 7',
    ],
    [
      'an authority before the separator',
      (e) => moved(e, indexOf(e, 7, EV.EFI_VARIABLE_AUTHORITY), separator7(e)),
      'an authority before the separator',
    ],
    [
      'Secure Boot on without any authority',
      (e) => e.filter((x) => x.eventType !== EV.EFI_VARIABLE_AUTHORITY),
      'no key authorised an image',
    ],
    [
      'Secure Boot on with an empty db',
      (e) => e.map((x, i) => (i === dbVar(e) ? withVariable(x, () => ({ data: new Uint8Array(0) })) : x)),
      'db permits nothing',
    ],
    [
      '"Calling EFI Application" of another type',
      (e) => e.map((x) => (x.pcrIndex === 4 && x.eventType === EV.EFI_ACTION ? { ...x, eventType: EV.IPL } : x)),
      '"Calling EFI Application" of another type',
    ],
    [
      'a second "Calling EFI Application"',
      (e) => [...e.slice(0, 12), ACTION('Calling EFI Application from Boot Option', 4), ...e.slice(12)],
      'a second "Calling EFI Application"',
    ],
    [
      'a boot application before "Calling EFI Application"',
      (e) => moved(e, indexOf(e, 4, EV.EFI_BOOT_SERVICES_APPLICATION), 2),
      'a boot application before',
    ],
    [
      '"Exit Boot Services" of another type',
      (e) =>
        e.map((x) =>
          x.pcrIndex === 5 && Buffer.from(x.data).toString() === 'Exit Boot Services Invocation'
            ? { ...x, eventType: EV.IPL }
            : x,
        ),
      '"Exit Boot Services" of another type',
    ],
    [
      'a PCR 8 event that is not EV_IPL',
      (e) => e.map((x) => (x.pcrIndex === 8 ? { ...x, eventType: EV.EFI_BOOT_SERVICES_DRIVER } : x)),
      'is not EV_IPL',
    ],
    [
      'a PCR 8 event that is not a GRUB command',
      (e) => [...e, { pcrIndex: 8, eventType: EV.IPL, data: Buffer.from('hello\0') }],
      'not a GRUB command',
    ],
    [
      'a kernel command line edited after measurement',
      (e) =>
        e.map((x) =>
          Buffer.from(x.data).toString('latin1').startsWith('kernel_cmdline')
            ? { ...x, data: Buffer.from(Buffer.from(x.data).toString('latin1').replace('ro ', 'rw '), 'latin1') }
            : x,
        ),
      'does not match its digest',
    ],
    [
      'a GRUB command whose last byte is not NUL',
      (e) =>
        e.map((x) =>
          x.pcrIndex === 8 && x.data.length === 21
            ? { ...x, data: Buffer.concat([x.data.subarray(0, -1), Buffer.of(0x41)]) }
            : x,
        ),
      'does not match its digest',
    ],
    [
      'a second kernel command line',
      (e) => [
        ...e,
        {
          pcrIndex: 8,
          eventType: EV.IPL,
          data: Buffer.from('kernel_cmdline: x\0'),
          digests: inAllBanks(Buffer.from('x')),
        },
      ],
      'a second kernel command line',
    ],
    [
      'a GRUB command that is not UTF-8',
      (e) => [
        ...e,
        {
          pcrIndex: 8,
          eventType: EV.IPL,
          data: Buffer.from('grub_cmd: \xff\0', 'latin1'),
          digests: inAllBanks(Buffer.of(0xff)),
        },
      ],
      'is not UTF-8',
    ],
  ];
  it('accepts the log unedited', () => {
    extractBootState(parseTcgEventLog(editedLog((e) => e)), BANKS);
  });
  for (const [name, edit, reason] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => extractBootState(parseTcgEventLog(editedLog(edit)), BANKS),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_ATTEST_BOOT_STATE');
          assert.ok(error.message.includes(reason), error.message);
          return true;
        },
      );
    });
  }

  it('reports no boot applications when ExitBootServices was not measured', () => {
    const noEbs = editedLog((e) => e.filter((x) => !Buffer.from(x.data).toString().startsWith('Exit Boot Services')));
    assert.equal(extractBootState(parseTcgEventLog(noEbs), BANKS).bootApplications, undefined);
  });

  it('reads Secure Boot off from SecureBoot = 0, with no authority needed', () => {
    const off = editedLog((e) =>
      e
        .filter((x) => x.eventType !== EV.EFI_VARIABLE_AUTHORITY)
        .map((x, i) => (i === sbVar(e) ? withVariable(x, () => ({ data: Uint8Array.of(0) })) : x)),
    );
    assert.equal(extractBootState(parseTcgEventLog(off), BANKS).secureBoot.enabled, false);
  });
});
