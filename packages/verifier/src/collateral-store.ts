// The offline collateral cache: a content-addressed directory an administrator fills; appraisal only reads it.
import { X509Certificate, createHash } from 'node:crypto';
import { AMD_ARK_SHA256 } from '@sealroom/attest';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClassifiedFile, type EvidenceFileKind, classifyFile } from './evidence-files.ts';
import { VerifierError } from './errors.ts';

/** What the cache can hold: vendor certificates, CRLs and Intel's signed TCB info and QE identity. */
const COLLATERAL_KINDS: ReadonlySet<EvidenceFileKind> = new Set(['certificates', 'crl', 'tcb-info', 'qe-identity']);

export interface ImportedCollateral {
  readonly file: string;
  readonly kind: EvidenceFileKind;
  /** The blob's name in the cache: the SHA-256 of its bytes. */
  readonly sha256: string;
  /** False when the same bytes were already there. */
  readonly added: boolean;
}

export interface LoadedCollateral {
  readonly certificates: readonly Buffer[];
  readonly crls: readonly Buffer[];
  readonly tcbInfos: readonly string[];
  readonly qeIdentities: readonly string[];
}

const BLOB_NAME = /^[0-9a-f]{64}$/;

function blobDir(dir: string): string {
  return join(dir, 'sha256');
}

export interface ImportOptions {
  /**
   * SHA-256 fingerprints (hex) of AMD roots the administrator vouches for beyond the pinned ones (Genoa and
   * Turin ARKs): an ARK in the files must be pinned or listed here, or the import is refused.
   */
  readonly arkSha256?: readonly string[];
}

/** A self-signed AMD root key certificate (`ARK-<product>`), which only a pin or a configured fingerprint trusts. */
function checkAmdRoots(file: ClassifiedFile, allowed: ReadonlySet<string>): void {
  for (const der of file.certificates ?? []) {
    const cert = new X509Certificate(der);
    const cn =
      cert.subject
        .split('\n')
        .find((l) => l.startsWith('CN='))
        ?.slice(3) ?? '';
    if (!cn.startsWith('ARK-') || cert.subject !== cert.issuer) continue;
    const fingerprint = createHash('sha256').update(der).digest('hex');
    if (!allowed.has(fingerprint)) {
      throw new VerifierError(
        'ERR_VERIFIER_COLLATERAL_FILE',
        `${file.name} holds ${cn.slice(0, 32)} (SHA-256 ${fingerprint}), which is neither pinned nor given with --ark-sha256.`,
      );
    }
  }
}

/**
 * Imports files into the cache under `dir/sha256/<digest>`. Every file is classified first and the whole
 * import is refused if one is not collateral, so nothing is half-imported; each blob is written to a
 * temporary name and renamed, so a reader never sees a partial one.
 */
export function importCollateral(
  dir: string,
  files: ReadonlyArray<{ name: string; bytes: Uint8Array }>,
  options: ImportOptions = {},
): ImportedCollateral[] {
  const classified = files.map((f) => classifyFile(f.name, f.bytes));
  const allowedArks = new Set([...Object.values(AMD_ARK_SHA256), ...(options.arkSha256 ?? [])]);
  for (const c of classified) {
    if (!COLLATERAL_KINDS.has(c.kind)) {
      throw new VerifierError('ERR_VERIFIER_COLLATERAL_FILE', `${c.name} is ${c.kind} evidence, not collateral.`);
    }
    checkAmdRoots(c, allowedArks);
  }
  const target = blobDir(dir);
  mkdirSync(target, { recursive: true, mode: 0o755 });
  const existing = new Set(readdirSync(target));
  return classified.map((c) => {
    const sha256 = createHash('sha256').update(c.bytes).digest('hex');
    const added = !existing.has(sha256);
    if (added) {
      const tmp = join(target, `.${sha256}.${process.pid}.tmp`);
      writeFileSync(tmp, c.bytes, { mode: 0o644 });
      renameSync(tmp, join(target, sha256));
      existing.add(sha256);
    }
    return { file: c.name, kind: c.kind, sha256, added };
  });
}

/** Reads every blob of the cache, checking each against its name; a cache that does not exist is empty. */
export function loadCollateral(dir: string): LoadedCollateral {
  let names: string[];
  try {
    names = readdirSync(blobDir(dir)).filter((n) => BLOB_NAME.test(n));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { certificates: [], crls: [], tcbInfos: [], qeIdentities: [] };
    throw error;
  }
  const files: ClassifiedFile[] = names.sort().map((name) => {
    const bytes = readFileSync(join(blobDir(dir), name));
    if (createHash('sha256').update(bytes).digest('hex') !== name) {
      throw new VerifierError(
        'ERR_VERIFIER_COLLATERAL_FILE',
        `Collateral blob ${name.slice(0, 12)}… does not match its digest.`,
      );
    }
    return classifyFile(name, bytes);
  });
  return collateralOf(files);
}

/** Sorts classified files into the collateral they are. */
export function collateralOf(files: readonly ClassifiedFile[]): LoadedCollateral {
  return {
    certificates: files.flatMap((f) => (f.kind === 'certificates' ? (f.certificates ?? []) : [])),
    crls: files.filter((f) => f.kind === 'crl').map((f) => f.bytes),
    tcbInfos: files.filter((f) => f.kind === 'tcb-info').map((f) => f.bytes.toString('utf8')),
    qeIdentities: files.filter((f) => f.kind === 'qe-identity').map((f) => f.bytes.toString('utf8')),
  };
}
