// A fake AMD key hierarchy that signs SEV-SNP reports for tests: its ARK is never pinned, so its reports pass only
// where a test names that root as trusted.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { encodeName, issueCertificate } from '@sealroom/formats';
import { der, derBitString, derInteger, derOid, derSequence, derTime } from '@sealroom/formats';
import { SNP_REPORT_SIZE, SNP_SIGNED_SIZE, type SnpProduct } from './report.ts';

export interface SnpReportFields {
  version?: number;
  guestSvn?: number;
  policy?: bigint;
  vmpl?: number;
  signerInfo?: number;
  reportData?: Uint8Array;
  measurement?: Uint8Array;
  hostData?: Uint8Array;
  reportedTcb?: bigint;
  currentTcb?: bigint;
  cpuid?: { family: number; model: number; stepping: number };
  chipId?: Uint8Array;
}

export interface SimulatedSnpAuthority {
  readonly product: SnpProduct;
  readonly ark: Buffer;
  readonly ask: Buffer;
  readonly asvk: Buffer;
  readonly vcek: Buffer;
  readonly vlek: Buffer;
  readonly chipId: Buffer;
  /** The TCB both leaf certificates certify, as a Milan/Genoa TCB_VERSION. */
  readonly tcb: bigint;
  readonly vcekKey: KeyObject;
  readonly vlekKey: KeyObject;
  readonly arkKey: KeyObject;
}

const DAY_MS = 86_400_000;

/** bl 3, tee 0, snp 8, ucode 115 in the Milan/Genoa layout: the TCB of the shipped Milan vectors. */
export const SIMULATED_TCB = 0x7308000000000003n;

function tcbExtensions(tcb: bigint): Array<{ oid: string; critical: boolean; value: Uint8Array }> {
  const byte = (n: number): number => Number((tcb >> BigInt(8 * n)) & 0xffn);
  return [
    ['1.3.6.1.4.1.3704.1.3.1', byte(0)],
    ['1.3.6.1.4.1.3704.1.3.2', byte(1)],
    ['1.3.6.1.4.1.3704.1.3.3', byte(6)],
    ['1.3.6.1.4.1.3704.1.3.8', byte(7)],
  ].map(([oid, value]) => ({ oid: oid as string, critical: false, value: derInteger(value as number) }));
}

/** Creates ARK → ASK → VCEK and ARK → ASVK → VLEK for `product`, valid from `at` minus a day for ten years. */
export function createSnpAuthority(product: SnpProduct = 'Milan', at = new Date()): SimulatedSnpAuthority {
  const rsa = (): { publicKey: KeyObject; privateKey: KeyObject } =>
    generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p384 = (): { publicKey: KeyObject; privateKey: KeyObject } =>
    generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const notBefore = new Date(at.getTime() - DAY_MS);
  const notAfter = new Date(at.getTime() + 3650 * DAY_MS);
  const name = (cn: string): Buffer => encodeName(cn, 'Advanced Micro Devices');
  const ark = rsa();
  const ask = rsa();
  const asvk = rsa();
  const vcek = p384();
  const vlek = p384();
  const chipId = randomBytes(64);
  const common = { notBefore, notAfter };
  const issue = (
    serial: number,
    issuer: string,
    subject: string,
    subjectKey: KeyObject,
    signingKey: KeyObject,
    isCa: boolean,
    extraExtensions: Array<{ oid: string; critical: boolean; value: Uint8Array }> = [],
  ): Buffer =>
    issueCertificate({
      ...common,
      serial: Uint8Array.of(serial),
      issuer: name(issuer),
      subject: name(subject),
      subjectPublicKey: subjectKey,
      signingKey,
      isCa,
      extraExtensions,
    });
  const productName = { oid: '1.3.6.1.4.1.3704.1.2', critical: false, value: der(0x16, Buffer.from(`${product}-B0`)) };
  return {
    product,
    ark: issue(1, `ARK-${product}`, `ARK-${product}`, ark.publicKey, ark.privateKey, true),
    ask: issue(2, `ARK-${product}`, `SEV-${product}`, ask.publicKey, ark.privateKey, true),
    asvk: issue(3, `ARK-${product}`, `SEV-VLEK-${product}`, asvk.publicKey, ark.privateKey, true),
    vcek: issue(0, `SEV-${product}`, 'SEV-VCEK', vcek.publicKey, ask.privateKey, false, [
      productName,
      ...tcbExtensions(SIMULATED_TCB),
      { oid: '1.3.6.1.4.1.3704.1.4', critical: false, value: chipId },
    ]),
    vlek: issue(4, `SEV-VLEK-${product}`, 'SEV-VLEK', vlek.publicKey, asvk.privateKey, false, [
      productName,
      ...tcbExtensions(SIMULATED_TCB),
    ]),
    chipId,
    tcb: SIMULATED_TCB,
    vcekKey: vcek.privateKey,
    vlekKey: vlek.privateKey,
    arkKey: ark.privateKey,
  };
}

/** Builds a report (defaults: version 3, policy 0x30000, VMPL 0, signed by the VCEK) and signs it with `key`. */
export function mintSnpReport(authority: SimulatedSnpAuthority, fields: SnpReportFields = {}, key?: KeyObject): Buffer {
  const b = Buffer.alloc(SNP_REPORT_SIZE);
  const signerInfo = fields.signerInfo ?? 0;
  b.writeUInt32LE(fields.version ?? 3, 0x00);
  b.writeUInt32LE(fields.guestSvn ?? 1, 0x04);
  b.writeBigUInt64LE(fields.policy ?? 0x30000n, 0x08);
  b.writeUInt32LE(fields.vmpl ?? 0, 0x30);
  b.writeUInt32LE(1, 0x34);
  b.writeBigUInt64LE(fields.currentTcb ?? authority.tcb, 0x38);
  b.writeUInt32LE(signerInfo, 0x48);
  b.set(fields.reportData ?? Buffer.alloc(64), 0x50);
  b.set(fields.measurement ?? Buffer.alloc(48, 0x11), 0x90);
  b.set(fields.hostData ?? Buffer.alloc(32), 0xc0);
  b.writeBigUInt64LE(fields.reportedTcb ?? authority.tcb, 0x180);
  const cpuid = fields.cpuid ?? { family: 0x19, model: 0x01, stepping: 1 };
  b.set([cpuid.family, cpuid.model, cpuid.stepping], 0x188);
  b.set(fields.chipId ?? authority.chipId, 0x1a0);
  b.writeBigUInt64LE(authority.tcb, 0x1e0);
  b.writeBigUInt64LE(authority.tcb, 0x1f0);
  const signingKey = key ?? (((signerInfo >> 2) & 7) === 1 ? authority.vlekKey : authority.vcekKey);
  const signature = sign('sha384', b.subarray(0, SNP_SIGNED_SIZE), { key: signingKey, dsaEncoding: 'ieee-p1363' });
  b.set(Buffer.from(signature.subarray(0, 48)).reverse(), 0x2a0);
  b.set(Buffer.from(signature.subarray(48)).reverse(), 0x2e8);
  return b;
}

/** A CRL signed by the authority's ARK (sha256WithRSAEncryption) revoking the given serial numbers. */
export function issueSnpCrl(
  authority: SimulatedSnpAuthority,
  revokedSerials: readonly number[],
  thisUpdate: Date,
  nextUpdate: Date,
): Buffer {
  const algorithm = derSequence(derOid('1.2.840.113549.1.1.11'), der(0x05));
  const entries = revokedSerials.map((serial) => derSequence(derInteger(serial), derTime(thisUpdate)));
  const tbs = derSequence(
    derInteger(1),
    algorithm,
    encodeName(`ARK-${authority.product}`, 'Advanced Micro Devices'),
    derTime(thisUpdate),
    derTime(nextUpdate),
    ...(entries.length === 0 ? [] : [derSequence(...entries)]),
  );
  return derSequence(tbs, algorithm, derBitString(sign('sha256', tbs, authority.arkKey)));
}
