// The GCE instance identity carried by AK certificates: extension 1.3.6.1.4.1.11129.2.1.21, read into
// `submods.gce` only when its is_production flag is set; the soft platform writes the same layout.
import {
  DER_TAG as TAG,
  derBoolean,
  derExplicit,
  derInteger,
  derSequence,
  derUtf8,
  expectTag,
  parseDer,
  readChildren,
  toBigInt,
  toBoolean,
  readExtensions,
  toText,
} from '@sealroom/formats';
import type { DerNode } from '@sealroom/formats';
import { KeptResults } from '@sealroom/core';
import { AttestError } from '../errors.ts';
import { readEvidenceDer } from './ak-chain.ts';

export const GCE_INSTANCE_INFO_OID = '1.3.6.1.4.1.11129.2.1.21';

/** Instance identity; numbers are decimal strings, as the token's `submods.gce` carries them. */
export interface InstanceInfo {
  readonly zone: string;
  readonly projectNumber: string;
  readonly projectId: string;
  readonly instanceId: string;
  readonly instanceName: string;
  readonly securityVersion: string;
  readonly isProduction: boolean;
}

function unsigned(node: DerNode | undefined, what: string): string {
  const value = toBigInt(expectTag(node, TAG.INTEGER, what));
  if (value < 0n) throw new AttestError('ERR_ATTEST_MALFORMED_DER', `Instance info: ${what} is negative.`);
  return value.toString();
}

/**
 * SEQUENCE { zone UTF8String, projectNumber INTEGER, projectId UTF8String, instanceId INTEGER,
 * instanceName UTF8String, [0] EXPLICIT SEQUENCE { [0] EXPLICIT INTEGER securityVersion,
 * [1] EXPLICIT BOOLEAN isProduction, [2]..[5] EXPLICIT BOOLEAN … } }
 */
export function decodeInstanceInfo(value: Uint8Array): InstanceInfo {
  return readEvidenceDer(() => decode(value));
}

function decode(value: Uint8Array): InstanceInfo {
  const parts = readChildren(expectTag(parseDer(value), TAG.SEQUENCE, 'instance info'));
  if (parts.length < 5) throw new AttestError('ERR_ATTEST_MALFORMED_DER', 'Instance info: too few fields.');
  let securityVersion = '0';
  let isProduction = false;
  const security = parts[5];
  if (security !== undefined) {
    const inner = readChildren(
      expectTag(readChildren(expectTag(security, 0xa0, 'security properties'))[0], TAG.SEQUENCE, 'security properties'),
    );
    for (const field of inner) {
      const [content] = readChildren(field);
      if (field.tag === 0xa0) securityVersion = unsigned(content, 'securityVersion');
      if (field.tag === 0xa1) isProduction = toBoolean(expectTag(content, TAG.BOOLEAN, 'isProduction'));
    }
  }
  return {
    zone: toText(expectTag(parts[0], TAG.UTF8_STRING, 'zone')),
    projectNumber: unsigned(parts[1], 'projectNumber'),
    projectId: toText(expectTag(parts[2], TAG.UTF8_STRING, 'projectId')),
    instanceId: unsigned(parts[3], 'instanceId'),
    instanceName: toText(expectTag(parts[4], TAG.UTF8_STRING, 'instanceName')),
    securityVersion,
    isProduction,
  };
}

export function encodeInstanceInfo(info: InstanceInfo): Buffer {
  return derSequence(
    derUtf8(info.zone),
    derInteger(BigInt(info.projectNumber)),
    derUtf8(info.projectId),
    derInteger(BigInt(info.instanceId)),
    derUtf8(info.instanceName),
    derExplicit(
      0,
      derSequence(
        derExplicit(0, derInteger(BigInt(info.securityVersion))),
        derExplicit(1, derBoolean(info.isProduction)),
      ),
    ),
  );
}

/** The instance info of an AK certificate, or undefined when it has none. */
export function readInstanceInfo(certDer: Uint8Array): InstanceInfo | undefined {
  // An instance's AK certificate is the same in every attestation until it is re-issued: read once per certificate
  // (the key is its bytes, a few hundred).
  const key = Buffer.from(certDer.buffer, certDer.byteOffset, certDer.byteLength).toString('latin1');
  return readInstanceInfos.get(key, () => {
    const ext = readEvidenceDer(() => readExtensions(certDer)).get(GCE_INSTANCE_INFO_OID);
    return { info: ext === undefined ? undefined : decodeInstanceInfo(ext.value) };
  }).info;
}

/** Certificates whose instance identity (or its absence) is kept; the least recently used goes first. */
const readInstanceInfos = new KeptResults<string, { readonly info: InstanceInfo | undefined }>(1024);
