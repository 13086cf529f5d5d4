// The builder's use of the shared tar code in @sealroom/formats: the same reader and writer, with their
// errors reported as ERR_BUILDER_TAR, the code builds have always failed with on a bad layer or path.
import {
  executableMode,
  FormatsError,
  normaliseEntries as normaliseEntriesOf,
  normaliseTarPath as normaliseTarPathOf,
  type ReadTarEntry,
  readTar as readTarOf,
  type TarEntry,
  type TarOptions,
  writeTar as writeTarOf,
} from '@sealroom/formats';
import { BuilderError } from './errors.ts';

export { executableMode };
export type { ReadTarEntry, TarEntry, TarOptions };

function asBuilderError<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof FormatsError) throw new BuilderError('ERR_BUILDER_TAR', error.message, { cause: error });
    throw error;
  }
}

export function normaliseTarPath(path: string): string {
  return asBuilderError(() => normaliseTarPathOf(path));
}

export function normaliseEntries(entries: readonly TarEntry[]): TarEntry[] {
  return asBuilderError(() => normaliseEntriesOf(entries));
}

export function writeTar(entries: readonly TarEntry[], options: TarOptions = {}): Buffer {
  return asBuilderError(() => writeTarOf(entries, options));
}

export function readTar(archive: Uint8Array): ReadTarEntry[] {
  return asBuilderError(() => readTarOf(archive));
}
