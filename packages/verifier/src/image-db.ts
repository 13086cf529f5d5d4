// The image database: golden boot measurements (the kernel command line) → release, hardened or debug,
// swversion and support attributes (confidential-space `server/image/image.go`, reference/launcher.md §8).
import { softBootCmdline } from '@sealroom/attest';
import { VerifierError } from './errors.ts';

export const SUPPORT_ATTRIBUTES = ['LATEST', 'STABLE', 'USABLE', 'EXPERIMENTAL'] as const;
export type SupportAttribute = (typeof SUPPORT_ATTRIBUTES)[number];

export interface ImageEntry {
  /** The kernel command line as measured, trimmed of whitespace and NULs. */
  readonly cmdline: string;
  readonly imageReleaseName: string;
  readonly isHardened: boolean;
  /** Decimal digits, e.g. "261100". */
  readonly swversion: string;
  readonly supportAttributes: readonly SupportAttribute[];
}

export interface ImageDatabase {
  lookup(cmdline: string): ImageEntry | undefined;
  entries(): readonly ImageEntry[];
}

/** Builds the database; a debug image carrying support attributes is refused (debug images get none). */
export function createImageDatabase(entries: readonly ImageEntry[]): ImageDatabase {
  const byCmdline = new Map<string, ImageEntry>();
  for (const entry of entries) {
    if (!entry.isHardened && entry.supportAttributes.length > 0) {
      throw new VerifierError(
        'ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES',
        `Debug image ${entry.imageReleaseName} cannot carry support attributes (${entry.supportAttributes.join(', ')}).`,
      );
    }
    if (!/^[0-9]+$/.test(entry.swversion)) {
      throw new VerifierError(
        'ERR_VERIFIER_UNKNOWN_IMAGE',
        `Image ${entry.imageReleaseName}: swversion must be digits.`,
      );
    }
    byCmdline.set(entry.cmdline, entry);
  }
  return { lookup: (cmdline) => byCmdline.get(cmdline), entries: () => [...byCmdline.values()] };
}

/** The two soft-platform images of one launcher build: hardened (LATEST, STABLE, USABLE) and debug (none). */
export function softImageEntries(launcherBuild: string, swversion: string): ImageEntry[] {
  return [
    {
      cmdline: softBootCmdline(launcherBuild, 'confidential-space'),
      imageReleaseName: `sealroom-soft-${swversion}`,
      isHardened: true,
      swversion,
      supportAttributes: ['LATEST', 'STABLE', 'USABLE'],
    },
    {
      cmdline: softBootCmdline(launcherBuild, 'confidential-space-debug'),
      imageReleaseName: `sealroom-soft-debug-${swversion}`,
      isHardened: false,
      swversion,
      supportAttributes: [],
    },
  ];
}
