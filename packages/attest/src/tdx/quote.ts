// Intel TDX DCAP quotes v4 and v5 (TDX 1.0 and 1.5 bodies): a total parser of the little-endian structure.
import { AttestError } from '../errors.ts';

const HEADER_SIZE = 48;
const TDX10_BODY_SIZE = 584;
const TDX15_BODY_SIZE = 648;
const QE_REPORT_SIZE = 384;
/** No real quote is near this; anything larger is refused before it is read. */
export const TDX_MAX_QUOTE_SIZE = 64 * 1024;
/** Attestation key type 2: ECDSA-256-with-P-256 curve. */
const ATT_KEY_ECDSA_P256 = 2;
const TEE_TYPE_TDX = 0x81;
/** Certification data types: 5 = PCK certificate chain (PEM), 6 = QE report certification data. */
const CERT_PCK_CHAIN = 5;
const CERT_QE_REPORT = 6;

export interface TdxQuoteHeader {
  readonly version: number;
  readonly attestationKeyType: number;
  readonly teeType: number;
  readonly qeSvn: number;
  readonly pceSvn: number;
  readonly qeVendorId: Buffer;
  readonly userData: Buffer;
}

export interface TdxBody {
  /** 'TDX10' (584 bytes) or 'TDX15' (648 bytes: adds TEE_TCB_SVN2 and MRSERVICETD). */
  readonly kind: 'TDX10' | 'TDX15';
  readonly teeTcbSvn: Buffer;
  readonly mrSeam: Buffer;
  readonly mrSignerSeam: Buffer;
  readonly seamAttributes: Buffer;
  readonly tdAttributes: Buffer;
  readonly xfam: Buffer;
  readonly mrTd: Buffer;
  readonly mrConfigId: Buffer;
  readonly mrOwner: Buffer;
  readonly mrOwnerConfig: Buffer;
  /** RTMR 0–3, 48 bytes each. */
  readonly rtmrs: readonly [Buffer, Buffer, Buffer, Buffer];
  readonly reportData: Buffer;
  readonly teeTcbSvn2?: Buffer;
  readonly mrServiceTd?: Buffer;
}

/** The SGX REPORT body of the quoting enclave. */
export interface QeReport {
  readonly raw: Buffer;
  readonly cpuSvn: Buffer;
  readonly miscSelect: number;
  readonly attributes: Buffer;
  readonly mrEnclave: Buffer;
  readonly mrSigner: Buffer;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly reportData: Buffer;
}

export interface TdxQuote {
  readonly header: TdxQuoteHeader;
  readonly body: TdxBody;
  /** Header and body: what the attestation key signed. */
  readonly signed: Buffer;
  /** r‖s, 64 bytes big-endian. */
  readonly signature: Buffer;
  /** X‖Y of the P-256 attestation key. */
  readonly attestationKey: Buffer;
  readonly qeReport: QeReport;
  readonly qeReportSignature: Buffer;
  readonly qeAuthData: Buffer;
  /** The PCK chain as sent (PEM): leaf, PCK Platform or Processor CA, root. */
  readonly pckChainPem: string;
  /** Bytes after the signature data; unsigned, so ignored, but counted. */
  readonly trailingBytes: number;
}

function fail(message: string): never {
  throw new AttestError('ERR_ATTEST_TDX_MALFORMED', `TDX quote: ${message}.`);
}

function unsupported(message: string): never {
  throw new AttestError('ERR_ATTEST_TDX_VERSION', `TDX quote: ${message}.`);
}

function parseBody(b: Buffer, kind: TdxBody['kind']): TdxBody {
  const at = (offset: number, length: number): Buffer => Buffer.from(b.subarray(offset, offset + length));
  return {
    kind,
    teeTcbSvn: at(0, 16),
    mrSeam: at(16, 48),
    mrSignerSeam: at(64, 48),
    seamAttributes: at(112, 8),
    tdAttributes: at(120, 8),
    xfam: at(128, 8),
    mrTd: at(136, 48),
    mrConfigId: at(184, 48),
    mrOwner: at(232, 48),
    mrOwnerConfig: at(280, 48),
    rtmrs: [at(328, 48), at(376, 48), at(424, 48), at(472, 48)],
    reportData: at(520, 64),
    ...(kind === 'TDX15' ? { teeTcbSvn2: at(584, 16), mrServiceTd: at(600, 48) } : {}),
  };
}

function parseQeReport(raw: Buffer): QeReport {
  return {
    raw,
    cpuSvn: Buffer.from(raw.subarray(0, 16)),
    miscSelect: raw.readUInt32LE(16),
    attributes: Buffer.from(raw.subarray(48, 64)),
    mrEnclave: Buffer.from(raw.subarray(64, 96)),
    mrSigner: Buffer.from(raw.subarray(128, 160)),
    isvProdId: raw.readUInt16LE(256),
    isvSvn: raw.readUInt16LE(258),
    reportData: Buffer.from(raw.subarray(320, 384)),
  };
}

/** Parses a quote; every length is checked against the bytes that hold it, and against each other. */
export function parseTdxQuote(bytes: Uint8Array): TdxQuote {
  if (bytes.length > TDX_MAX_QUOTE_SIZE) fail(`${bytes.length} bytes is over ${TDX_MAX_QUOTE_SIZE}`);
  if (bytes.length < HEADER_SIZE) fail('truncated header');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const header: TdxQuoteHeader = {
    version: b.readUInt16LE(0),
    attestationKeyType: b.readUInt16LE(2),
    teeType: b.readUInt32LE(4),
    qeSvn: b.readUInt16LE(8),
    pceSvn: b.readUInt16LE(10),
    qeVendorId: Buffer.from(b.subarray(12, 28)),
    userData: Buffer.from(b.subarray(28, 48)),
  };
  if (header.version !== 4 && header.version !== 5) unsupported(`version ${header.version} is not supported`);
  if (header.teeType !== TEE_TYPE_TDX) unsupported(`TEE type 0x${header.teeType.toString(16)} is not TDX`);
  if (header.attestationKeyType !== ATT_KEY_ECDSA_P256) unsupported('the attestation key is not ECDSA P-256');
  let bodyStart = HEADER_SIZE;
  let kind: TdxBody['kind'] = 'TDX10';
  let bodySize = TDX10_BODY_SIZE;
  if (header.version === 5) {
    if (b.length < HEADER_SIZE + 6) fail('truncated body descriptor');
    const bodyType = b.readUInt16LE(48);
    bodySize = b.readUInt32LE(50);
    if (bodyType === 2 && bodySize === TDX10_BODY_SIZE) kind = 'TDX10';
    else if (bodyType === 3 && bodySize === TDX15_BODY_SIZE) kind = 'TDX15';
    else unsupported(`body type ${bodyType} of ${bodySize} bytes is not a TDX 1.0 or 1.5 body`);
    bodyStart = HEADER_SIZE + 6;
  }
  const signedEnd = bodyStart + bodySize;
  if (b.length < signedEnd + 4) fail('truncated body');
  const body = parseBody(b.subarray(bodyStart, signedEnd), kind);
  const sigLength = b.readUInt32LE(signedEnd);
  const sigStart = signedEnd + 4;
  const sigEnd = sigStart + sigLength;
  if (sigEnd > b.length) fail(`signature data of ${sigLength} bytes runs past the end`);
  // Signature data: signature (64), attestation key (64), certification data type (2) and size (4).
  if (sigLength < 134) fail('signature data is too short');
  const certType = b.readUInt16LE(sigStart + 128);
  const certSize = b.readUInt32LE(sigStart + 130);
  if (certType !== CERT_QE_REPORT) fail(`certification data type ${certType} is not QE report data (6)`);
  if (134 + certSize !== sigLength) fail(`certification data of ${certSize} bytes does not fill the signature data`);
  const cert = b.subarray(sigStart + 134, sigEnd);
  if (cert.length < QE_REPORT_SIZE + 64 + 2) fail('truncated QE report certification data');
  const authLength = cert.readUInt16LE(QE_REPORT_SIZE + 64);
  const chainHeader = QE_REPORT_SIZE + 64 + 2 + authLength;
  if (cert.length < chainHeader + 6) fail('truncated QE authentication data');
  const innerType = cert.readUInt16LE(chainHeader);
  const innerSize = cert.readUInt32LE(chainHeader + 2);
  if (innerType !== CERT_PCK_CHAIN) fail(`inner certification data type ${innerType} is not a PCK chain (5)`);
  if (chainHeader + 6 + innerSize !== cert.length) fail('the PCK chain does not fill the certification data');
  return {
    header,
    body,
    signed: Buffer.from(b.subarray(0, signedEnd)),
    signature: Buffer.from(b.subarray(sigStart, sigStart + 64)),
    attestationKey: Buffer.from(b.subarray(sigStart + 64, sigStart + 128)),
    qeReport: parseQeReport(Buffer.from(cert.subarray(0, QE_REPORT_SIZE))),
    qeReportSignature: Buffer.from(cert.subarray(QE_REPORT_SIZE, QE_REPORT_SIZE + 64)),
    qeAuthData: Buffer.from(cert.subarray(QE_REPORT_SIZE + 66, chainHeader)),
    pckChainPem: cert.subarray(chainHeader + 6).toString('latin1'),
    trailingBytes: b.length - sigEnd,
  };
}

/** TDATTRIBUTES bit 0: the TD is debuggable (its memory and state can be read by the host). */
export function tdDebug(body: TdxBody): boolean {
  return (body.tdAttributes[0]! & 1) === 1;
}
