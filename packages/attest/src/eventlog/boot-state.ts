// What a bound TCG log says booted, read the way Google's verifier reads it (google/go-eventlog
// `internal/eventparse`): separators, the S-CRTM version, Secure Boot, the EFI boot applications, GRUB's
// commands and the kernel command line. Event types are not measured, so each rule checks digests.
import { BankDigests, refuseBoot } from './boot-digests.ts';
import { extractSecureBoot } from './secure-boot.ts';
import type { SecureBootState } from './secure-boot.ts';
import { EV } from './tcg.ts';
import type { TcgEvent, TcgEventLog } from './tcg.ts';
import { EFI_GUID, parseUefiVariable } from './uefi.ts';

export interface BootState {
  /** The banks the log was verified in; every digest below is from one of them. */
  readonly banks: readonly number[];
  /** The S-CRTM version event of PCR 0 (UCS-2 text on GCE), if measured. */
  readonly scrtmVersion?: Uint8Array;
  readonly secureBoot: SecureBootState;
  /**
   * TPM_ALG_ID → digests of the EFI boot-services applications (PCR 4) in boot order. Absent unless
   * ExitBootServices was measured: before it, later software could still add applications.
   */
  readonly bootApplications?: ReadonlyMap<number, readonly Uint8Array[]>;
  /** GRUB's commands from PCR 8, prefix included, as measured. */
  readonly grubCommands: readonly string[];
  /** The kernel command line GRUB measured, as logged (trailing NUL included). */
  readonly kernelCmdline?: string;
}

/** PFP §10.4.4: the separator's data is 0x00000000 (0xFFFFFFFF marks a firmware error, refused here). */
const SEPARATOR = new Uint8Array(4);
const SEPARATOR_ERROR = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
const CALLING_EFI_APP = Buffer.from('Calling EFI Application from Boot Option', 'latin1');
const EXIT_BOOT_SERVICES = Buffer.from('Exit Boot Services Invocation', 'latin1');
/** GRUB's measured-boot prefixes (GRUB manual §"Measured Boot"; the older Fedora spellings too). */
const GRUB_PREFIXES = ['grub_cmd: ', 'kernel_cmdline: ', 'module_cmdline: ', 'grub_kernel_cmdline ', 'grub_cmd '];
const CMDLINE_PREFIXES = ['kernel_cmdline: ', 'grub_kernel_cmdline '];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Every PCR 0–7 separator, and every event whose digest is a separator's, is one well-formed separator. */
function checkSeparators(events: readonly TcgEvent[], digests: BankDigests): void {
  const seen = new Set<number>();
  for (const event of events) {
    if (event.pcrIndex > 7) continue;
    const claims = event.eventType === EV.SEPARATOR;
    if (
      !claims &&
      !digests.resembles(event, SEPARATOR, 'separator') &&
      !digests.resembles(event, SEPARATOR_ERROR, 'separator-error')
    ) {
      continue;
    }
    const at = `PCR ${event.pcrIndex} event ${event.number}`;
    if (!claims) refuseBoot(`${at} has a separator's digest but another type.`);
    if (!Buffer.from(event.data).equals(SEPARATOR)) refuseBoot(`${at}: the separator's data is not 00000000.`);
    if (!digests.verifies(event, SEPARATOR, 'separator')) refuseBoot(`${at}: the separator's digest is wrong.`);
    if (seen.has(event.pcrIndex)) refuseBoot(`${at}: a second separator in PCR ${event.pcrIndex}.`);
    seen.add(event.pcrIndex);
  }
}

/**
 * PFP §10.4.1: these events are digests of their own data, so their data must be what was measured.
 * (Separators and Secure Boot's authorities have their own rules.)
 */
const DATA_DIGESTED: ReadonlySet<number> = new Set([
  EV.ACTION,
  EV.S_CRTM_VERSION,
  EV.NONHOST_INFO,
  EV.OMIT_BOOT_DEVICE_EVENTS,
  EV.EFI_VARIABLE_DRIVER_CONFIG,
  EV.EFI_GPT_EVENT,
  EV.EFI_ACTION,
  EV.EFI_VARIABLE_BOOT2,
]);
/** UEFI 2.10 §3.1.1: the boot manager's load options and their order, all under the global-variable GUID. */
const BOOT_VARIABLE = /^(?:(?:Boot|Driver|SysPrep|PlatformRecovery)(?:[0-9A-F]{4}|Order)|BootNext)$/;

/** Every data-digested event is bound; EV_EFI_VARIABLE_BOOT is a boot variable whose value is digested. */
function checkEventData(events: readonly TcgEvent[], digests: BankDigests): void {
  for (const event of events) {
    const at = `PCR ${event.pcrIndex} event ${event.number}`;
    if (DATA_DIGESTED.has(event.eventType) && !digests.verifies(event, event.data)) {
      refuseBoot(`${at}: the event data does not match its digest.`);
    }
    if (event.eventType === EV.EFI_VARIABLE_BOOT) {
      const variable = parseUefiVariable(event.data);
      if (!variable.vendor.equals(EFI_GUID.GLOBAL_VARIABLE) || !BOOT_VARIABLE.test(variable.name)) {
        refuseBoot(`${at}: not a boot variable.`);
      }
      // EDK II digests the variable's value only; the PFP's later wording digests the whole structure.
      if (!digests.verifies(event, variable.data) && !digests.verifies(event, event.data)) {
        refuseBoot(`${at}: the boot variable does not match its digest.`);
      }
    }
  }
}

/** The S-CRTM version, trusted only before PCR 0's separator (its digest binds it: checkEventData). */
function extractScrtmVersion(events: readonly TcgEvent[]): Uint8Array | undefined {
  let version: Uint8Array | undefined;
  for (const event of events) {
    if (event.pcrIndex !== 0) continue;
    if (event.eventType === EV.SEPARATOR) break;
    if (event.eventType === EV.S_CRTM_VERSION) version = event.data;
  }
  return version;
}

/** PCR 4 applications after "Calling EFI Application", up to "Exit Boot Services Invocation" in PCR 5. */
function extractBootApplications(
  events: readonly TcgEvent[],
  digests: BankDigests,
): Map<number, Uint8Array[]> | undefined {
  const apps = new Map<number, Uint8Array[]>(digests.banks.map((alg) => [alg, []]));
  let calling = false;
  let separator4 = false;
  for (const event of events) {
    const at = `PCR ${event.pcrIndex} event ${event.number}`;
    if (event.pcrIndex === 4) {
      if (digests.resembles(event, CALLING_EFI_APP, 'calling')) {
        if (event.eventType !== EV.EFI_ACTION) refuseBoot(`${at}: "Calling EFI Application" of another type.`);
        if (!digests.verifies(event, CALLING_EFI_APP, 'calling'))
          refuseBoot(`${at}: unverified "Calling EFI Application".`);
        if (calling) refuseBoot(`${at}: a second "Calling EFI Application".`);
        if (separator4) refuseBoot(`${at}: "Calling EFI Application" after the separator.`);
        calling = true;
      }
      if (event.eventType === EV.SEPARATOR) separator4 = true;
      if (event.eventType === EV.EFI_BOOT_SERVICES_APPLICATION) {
        if (!calling) refuseBoot(`${at}: a boot application before "Calling EFI Application".`);
        for (const alg of digests.banks) apps.get(alg)!.push(event.digests.get(alg)!);
      }
    } else if (event.pcrIndex === 5 && digests.resembles(event, EXIT_BOOT_SERVICES, 'ebs')) {
      if (event.eventType !== EV.EFI_ACTION) refuseBoot(`${at}: "Exit Boot Services" of another type.`);
      if (!digests.verifies(event, EXIT_BOOT_SERVICES, 'ebs')) refuseBoot(`${at}: unverified "Exit Boot Services".`);
      return apps;
    }
  }
  return undefined;
}

/** PCR 8 commands and PCR 9 files are EV_IPL; each command's digest binds its text (NUL excluded). */
function extractGrub(events: readonly TcgEvent[], digests: BankDigests): { commands: string[]; cmdline?: string } {
  const commands: string[] = [];
  let cmdline: string | undefined;
  for (const event of events) {
    if (event.pcrIndex !== 8 && event.pcrIndex !== 9) continue;
    const at = `PCR ${event.pcrIndex} event ${event.number}`;
    if (event.eventType !== EV.IPL) refuseBoot(`${at} is not EV_IPL.`);
    if (event.pcrIndex === 9) continue; // a file: its digest is of the file, its name is not measured
    const data = Buffer.from(event.data);
    const prefix = GRUB_PREFIXES.find((p) => data.subarray(0, p.length).equals(Buffer.from(p, 'latin1')));
    if (prefix === undefined) refuseBoot(`${at}: not a GRUB command.`);
    const text = data.subarray(prefix.length);
    // GRUB measures the text without its terminating NUL; older GRUBs measured it with it.
    const bound = (text.at(-1) === 0 && digests.verifies(event, text.subarray(0, -1))) || digests.verifies(event, text);
    if (!bound) refuseBoot(`${at}: the GRUB command does not match its digest.`);
    let command: string;
    try {
      command = utf8.decode(data);
    } catch {
      return refuseBoot(`${at}: the GRUB command is not UTF-8.`);
    }
    commands.push(command);
    if (CMDLINE_PREFIXES.includes(prefix)) {
      if (cmdline !== undefined) refuseBoot(`${at}: a second kernel command line.`);
      cmdline = command.slice(prefix.length);
    }
  }
  return { commands, ...(cmdline === undefined ? {} : { cmdline }) };
}

/** Reads the boot state of a log bound to its quotes, trusting only the digests of `banks`. */
export function extractBootState(log: TcgEventLog, banks: readonly number[]): BootState {
  const digests = new BankDigests(banks);
  checkSeparators(log.events, digests);
  checkEventData(log.events, digests);
  const scrtmVersion = extractScrtmVersion(log.events);
  const secureBoot = extractSecureBoot(log.events, digests);
  const bootApplications = extractBootApplications(log.events, digests);
  const grub = extractGrub(log.events, digests);
  return {
    banks: [...banks],
    ...(scrtmVersion === undefined ? {} : { scrtmVersion }),
    secureBoot,
    ...(bootApplications === undefined ? {} : { bootApplications }),
    grubCommands: grub.commands,
    ...(grub.cmdline === undefined ? {} : { kernelCmdline: grub.cmdline }),
  };
}

/** The command line as the image database keys it: ASCII whitespace and NULs trimmed at both ends. */
export function normalizeCmdline(cmdline: string): string {
  return cmdline.replace(/^[\0\t\n\v\f\r ]+|[\0\t\n\v\f\r ]+$/g, '');
}
