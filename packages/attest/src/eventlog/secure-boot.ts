// Secure Boot state from PCR 7 of a bound TCG log, with the rules of Google's verifier (google/go-eventlog
// `internal/eventparse` ParseSecurebootState and GetSecureBootState), plus vendor GUIDs checked.
import type { BankDigests } from './boot-digests.ts';
import { refuseBoot } from './boot-digests.ts';
import { EV } from './tcg.ts';
import type { TcgEvent } from './tcg.ts';
import { EFI_GUID, parseAuthorityCertificate, parseSignatureLists, parseUefiVariable } from './uefi.ts';
import type { SignatureDatabase } from './uefi.ts';

export const SECURE_BOOT_PCR = 7;

export interface SecureBootState {
  /** The SecureBoot variable was 1. */
  readonly enabled: boolean;
  readonly pk: SignatureDatabase;
  readonly kek: SignatureDatabase;
  readonly db: SignatureDatabase;
  readonly dbx: SignatureDatabase;
  /** Certificates that authorised boot images, after the PCR 7 separator (DER). */
  readonly authority: readonly Uint8Array[];
  readonly dmaProtectionDisabled: boolean;
}

const EMPTY: SignatureDatabase = { certificates: [], hashes: [] };

/** The variables Secure Boot is made of, and the vendor GUID each lives under (UEFI 2.10 §3.3, §32.6.1). */
const VARIABLES: Readonly<Record<string, Buffer>> = {
  SecureBoot: EFI_GUID.GLOBAL_VARIABLE,
  PK: EFI_GUID.GLOBAL_VARIABLE,
  KEK: EFI_GUID.GLOBAL_VARIABLE,
  db: EFI_GUID.IMAGE_SECURITY_DATABASE,
  dbx: EFI_GUID.IMAGE_SECURITY_DATABASE,
};

/** Shim's own variables in authority events carry no certificate (go-eventlog skips them too). */
const SHIM_VARIABLES = new Set(['SbatLevel', 'MokListTrusted']);

function empty(db: SignatureDatabase): boolean {
  return db.certificates.length === 0 && db.hashes.length === 0;
}

export function extractSecureBoot(events: readonly TcgEvent[], digests: BankDigests): SecureBootState {
  const databases = new Map<string, SignatureDatabase>();
  const seen = new Set<string>();
  const authority: Uint8Array[] = [];
  let enabled = false;
  let separator = false;
  let dmaProtectionDisabled = false;
  let authoritySeen = false;
  for (const event of events) {
    if (event.pcrIndex !== SECURE_BOOT_PCR) continue;
    const at = `PCR 7 event ${event.number}`;
    switch (event.eventType) {
      case EV.SEPARATOR:
        separator = true; // its data and digest are checked with every separator
        break;
      case EV.EFI_ACTION: {
        const action = Buffer.from(event.data).toString('latin1');
        if (action === 'UEFI Debug Mode') refuseBoot(`${at}: a UEFI debugger was present during boot.`);
        if (action !== 'DMA Protection Disabled' || !digests.verifies(event, event.data)) {
          refuseBoot(`${at}: an unexpected EFI action.`);
        }
        dmaProtectionDisabled = true;
        break;
      }
      case EV.EFI_VARIABLE_DRIVER_CONFIG: {
        const variable = parseUefiVariable(event.data);
        if (seen.has(variable.name)) refuseBoot(`${at}: variable ${variable.name} measured twice.`);
        seen.add(variable.name);
        if (separator) refuseBoot(`${at}: variable ${variable.name} measured after the separator.`);
        if (!digests.verifies(event, event.data)) refuseBoot(`${at}: variable digest does not match its data.`);
        const vendor = VARIABLES[variable.name];
        if (vendor === undefined) break;
        if (!vendor.equals(variable.vendor)) refuseBoot(`${at}: variable ${variable.name} under another vendor GUID.`);
        if (variable.name === 'SecureBoot') {
          if (variable.data.length !== 1 || variable.data[0]! > 1) refuseBoot(`${at}: SecureBoot is not 0 or 1.`);
          enabled = variable.data[0] === 1;
        } else {
          databases.set(variable.name, parseSignatureLists(variable.data));
        }
        break;
      }
      case EV.EFI_VARIABLE_AUTHORITY: {
        const variable = parseUefiVariable(event.data);
        const shim = variable.vendor.equals(EFI_GUID.SHIM_LOCK) && SHIM_VARIABLES.has(variable.name);
        const parsed = shim ? undefined : parseAuthorityCertificate(variable.data);
        const bound =
          digests.verifies(event, event.data) ||
          (parsed?.missingOwner === true && digests.verifies(event, event.data.subarray(0, -1)));
        if (!bound) refuseBoot(`${at}: authority digest does not match its data.`);
        if (!separator) refuseBoot(`${at}: an authority before the separator.`);
        authoritySeen = true;
        if (parsed !== undefined) authority.push(parsed.certificate);
        break;
      }
      default:
        refuseBoot(`${at}: event type 0x${event.eventType.toString(16)} does not belong in PCR 7.`);
    }
  }
  const state: SecureBootState = {
    enabled,
    pk: databases.get('PK') ?? EMPTY,
    kek: databases.get('KEK') ?? EMPTY,
    db: databases.get('db') ?? EMPTY,
    dbx: databases.get('dbx') ?? EMPTY,
    authority,
    dmaProtectionDisabled,
  };
  if (enabled) {
    if (!authoritySeen) refuseBoot('Secure Boot was enabled but no key authorised an image.');
    if (empty(state.pk)) refuseBoot('Secure Boot was enabled but no platform key was measured.');
    if (empty(state.kek)) refuseBoot('Secure Boot was enabled but no key exchange key was measured.');
    if (empty(state.db)) refuseBoot('Secure Boot was enabled but db permits nothing.');
  }
  return state;
}
