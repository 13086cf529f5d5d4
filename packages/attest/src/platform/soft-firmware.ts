// The soft platform's firmware: the boot it measures into PCR 0–8, laid out as GCE's UEFI firmware, shim and
// GRUB lay out theirs (S-CRTM version, Secure Boot variables and authority, EFI boot applications, the
// kernel command line, ExitBootServices), so the verifier appraises it with the same rules.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { encodeName, issueCertificate } from '@sealroom/formats';
import { EV, kernelCmdlineEvent } from '../eventlog/tcg.ts';
import type { TcgEventInput } from '../eventlog/tcg.ts';
import { EFI_GUID, efiGuid, encodeSignatureList, encodeUefiVariable } from '../eventlog/uefi.ts';
import { ByteWriter } from '../tpm/bytes.ts';
import { digest } from '../tpm/constants.ts';

export const SOFT_CRTM_VERSION = 'Sealroom soft platform 1';

/** What the firmware boots; the defaults are the soft platform's own boot. */
export interface SoftFirmwareOptions {
  /** Secure Boot on (default). Off models a platform that boots whatever it is given. */
  readonly secureBoot?: boolean;
  /** The images booted, in order (default `softBootImages(launcherBuild)`). */
  readonly bootImages?: readonly Uint8Array[];
}

export interface SoftSecureBootKeys {
  /** DER certificates of the platform key, the key exchange key and the one db key. */
  readonly pk: Buffer;
  readonly kek: Buffer;
  readonly db: Buffer;
}

/** Owner GUID of the soft platform's signature lists. */
const SOFT_OWNER = efiGuid('5ea1500d-0000-4000-8000-536561726f6f');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEYS_VALID_FROM = new Date('2025-01-01T00:00:00Z');
const KEYS_VALID_TO = new Date('2125-01-01T00:00:00Z');

/**
 * A fixed Ed25519 key per role, derived from a public seed: the soft platform's Secure Boot keys must be
 * the same on every host and in every verifier, and they protect nothing (the platform is software).
 */
function softKey(role: string): KeyObject {
  const seed = createHash('sha256').update(`Sealroom soft platform Secure Boot ${role} v1`).digest();
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

let keys: SoftSecureBootKeys | undefined;

/** PK (self-signed) → KEK → db, deterministic certificates (Ed25519 signatures are deterministic). */
export function softSecureBootKeys(): SoftSecureBootKeys {
  if (keys !== undefined) return keys;
  const chain: Array<{ name: Buffer; key: KeyObject; der: Buffer }> = [];
  for (const [serial, role] of ['Platform Key', 'Key Exchange Key', 'DB Key'].entries()) {
    const key = softKey(role);
    const name = encodeName(`Sealroom soft platform UEFI ${role}`, 'Sealroom');
    const issuer = chain.at(-1) ?? { name, key };
    const der = issueCertificate({
      serial: Uint8Array.of(serial + 1),
      issuer: issuer.name,
      subject: name,
      subjectPublicKey: createPublicKey(key),
      signingKey: issuer.key,
      notBefore: KEYS_VALID_FROM,
      notAfter: KEYS_VALID_TO,
      isCa: true,
    });
    chain.push({ name, key, der });
  }
  keys = { pk: chain[0]!.der, kek: chain[1]!.der, db: chain[2]!.der };
  return keys;
}

/** The images the soft firmware boots, measured as EFI boot applications: its loader, then the launcher. */
export function softBootImages(launcherBuild: string): Buffer[] {
  return [Buffer.from('Sealroom soft boot loader 1'), Buffer.from(`Sealroom launcher ${launcherBuild}`)];
}

function variable(vendor: Buffer, name: string, data: Uint8Array): TcgEventInput {
  return { pcrIndex: 7, eventType: EV.EFI_VARIABLE_DRIVER_CONFIG, data: encodeUefiVariable({ vendor, name, data }) };
}

function action(pcrIndex: number, text: string): TcgEventInput {
  return { pcrIndex, eventType: EV.EFI_ACTION, data: Buffer.from(text, 'latin1') };
}

/** UEFI_IMAGE_LOAD_EVENT (PFP §10.2.3) with a file-path device path; its digest is of the image. */
function imageLoad(image: Uint8Array, index: number, algs: readonly number[]): TcgEventInput {
  const path = Buffer.from(`\\EFI\\sealroom\\boot${index}.efi\0`, 'utf16le');
  const devicePath = new ByteWriter()
    .u8(4) // media device
    .u8(4) // file path
    .u16le(4 + path.length)
    .bytes(path)
    .bytes(Uint8Array.of(0x7f, 0xff, 0x04, 0x00)) // end of device path
    .finish();
  const data = new ByteWriter()
    .u64le(0x1000000 * (index + 1))
    .u64le(image.length)
    .u64le(0)
    .u64le(devicePath.length)
    .bytes(devicePath)
    .finish();
  return {
    pcrIndex: 4,
    eventType: EV.EFI_BOOT_SERVICES_APPLICATION,
    data,
    digests: new Map(algs.map((alg) => [alg, digest(alg, image)])),
  };
}

/** The boot the soft firmware measures, in the order GCE's firmware logs it. */
export function softBootEvents(
  launcherBuild: string,
  cmdline: string,
  algs: readonly number[],
  firmware: SoftFirmwareOptions = {},
): TcgEventInput[] {
  const secureBoot = firmware.secureBoot ?? true;
  const { pk, kek, db } = softSecureBootKeys();
  const x509 = (cert: Buffer): Buffer => encodeSignatureList(EFI_GUID.CERT_X509, SOFT_OWNER, [cert]);
  const separator = (pcrIndex: number): TcgEventInput => ({
    pcrIndex,
    eventType: EV.SEPARATOR,
    data: new Uint8Array(4),
  });
  const authority: TcgEventInput = {
    pcrIndex: 7,
    eventType: EV.EFI_VARIABLE_AUTHORITY,
    data: encodeUefiVariable({
      vendor: EFI_GUID.IMAGE_SECURITY_DATABASE,
      name: 'db',
      data: Buffer.concat([SOFT_OWNER, db]),
    }),
  };
  return [
    { pcrIndex: 0, eventType: EV.S_CRTM_VERSION, data: Buffer.from(`${SOFT_CRTM_VERSION}\0`, 'utf16le') },
    variable(EFI_GUID.GLOBAL_VARIABLE, 'SecureBoot', Uint8Array.of(secureBoot ? 1 : 0)),
    variable(EFI_GUID.GLOBAL_VARIABLE, 'PK', x509(pk)),
    variable(EFI_GUID.GLOBAL_VARIABLE, 'KEK', x509(kek)),
    variable(EFI_GUID.IMAGE_SECURITY_DATABASE, 'db', x509(db)),
    variable(EFI_GUID.IMAGE_SECURITY_DATABASE, 'dbx', new Uint8Array(0)),
    separator(7),
    action(4, 'Calling EFI Application from Boot Option'),
    ...[0, 1, 2, 3, 4, 5, 6].map(separator),
    ...(secureBoot ? [authority] : []),
    ...(firmware.bootImages ?? softBootImages(launcherBuild)).map((image, i) => imageLoad(image, i, algs)),
    kernelCmdlineEvent(cmdline, algs),
    action(5, 'Exit Boot Services Invocation'),
    action(5, 'Exit Boot Services Returned with Success'),
  ];
}
