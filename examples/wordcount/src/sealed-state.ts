// The workload's state at rest: a tally snapshot sealed with a data key that only the attested workload can unwrap.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { type KeyWrapper, createDataKey, decryptWithDataKey, encryptWithDataKey } from '@sealroom/workload';
import { WordcountError } from './errors.ts';
import type { TallySnapshot } from './tally.ts';

const STATE_AAD = Buffer.from('sealroom-wordcount/state/v1', 'utf8');

export interface StateStore {
  load(): Promise<TallySnapshot | undefined>;
  save(snapshot: TallySnapshot): Promise<void>;
}

export interface SealedFileStateOptions {
  readonly file: string;
  /** A KMS key whose decrypt permission is granted only to the attested workload's identity. */
  readonly wrapper: KeyWrapper;
}

/** One data key per state file, wrapped once; every save rewrites the file atomically (write, rename). */
export function createSealedFileStateStore(options: SealedFileStateOptions): StateStore {
  let key: { plain: Buffer; wrapped: string } | undefined;
  const ensureKey = async () => {
    if (!key) {
      const plain = createDataKey();
      key = { plain, wrapped: (await options.wrapper.wrap(plain, STATE_AAD)).toString('base64') };
    }
    return key;
  };
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(options.file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new WordcountError('ERR_WORDCOUNT_STATE', 'the state file cannot be read', { cause: error });
      }
      try {
        const sealed = JSON.parse(text) as { k: string; c: string };
        const plain = await options.wrapper.unwrap(Buffer.from(sealed.k, 'base64'), STATE_AAD);
        const snapshot = JSON.parse(
          decryptWithDataKey(plain, Buffer.from(sealed.c, 'base64'), STATE_AAD).toString('utf8'),
        ) as TallySnapshot;
        if (snapshot.version !== 1 && snapshot.version !== 2) {
          throw new WordcountError('ERR_WORDCOUNT_STATE', `unknown state version ${String(snapshot.version)}`);
        }
        key = { plain, wrapped: sealed.k };
        return snapshot;
      } catch (cause) {
        throw new WordcountError('ERR_WORDCOUNT_STATE', 'the state file does not open under the sealing key', {
          cause,
        });
      }
    },
    async save(snapshot) {
      const { plain, wrapped } = await ensureKey();
      const c = encryptWithDataKey(plain, Buffer.from(JSON.stringify(snapshot)), STATE_AAD).toString('base64');
      const tmp = `${options.file}.tmp-${process.pid}`;
      await writeFile(tmp, JSON.stringify({ v: 1, k: wrapped, c }), { mode: 0o600 });
      await rename(tmp, options.file);
    },
  };
}

/** Where sealed bytes are kept: a file, or a secret's versions (which outlive the instance). */
export interface SealedBlobStore {
  read(): Promise<Buffer | undefined>;
  write(bytes: Buffer): Promise<void>;
}

export interface SealedBlobStateOptions {
  readonly blobs: SealedBlobStore;
  readonly wrapper: KeyWrapper;
}

/** The same sealing as the file store, over any blob store (e.g. a Secret Manager secret). */
export function createSealedBlobStateStore(options: SealedBlobStateOptions): StateStore {
  let key: { plain: Buffer; wrapped: string } | undefined;
  return {
    async load() {
      const bytes = await options.blobs.read();
      if (bytes === undefined || bytes.length === 0) return undefined;
      try {
        const sealed = JSON.parse(bytes.toString('utf8')) as { k: string; c: string };
        const plain = await options.wrapper.unwrap(Buffer.from(sealed.k, 'base64'), STATE_AAD);
        const snapshot = JSON.parse(
          decryptWithDataKey(plain, Buffer.from(sealed.c, 'base64'), STATE_AAD).toString('utf8'),
        ) as TallySnapshot;
        if (snapshot.version !== 1 && snapshot.version !== 2) {
          throw new WordcountError('ERR_WORDCOUNT_STATE', `unknown state version ${String(snapshot.version)}`);
        }
        key = { plain, wrapped: sealed.k };
        return snapshot;
      } catch (cause) {
        throw new WordcountError('ERR_WORDCOUNT_STATE', 'the sealed state does not open under the sealing key', {
          cause,
        });
      }
    },
    async save(snapshot) {
      if (!key) {
        const plain = createDataKey();
        key = { plain, wrapped: (await options.wrapper.wrap(plain, STATE_AAD)).toString('base64') };
      }
      const c = encryptWithDataKey(key.plain, Buffer.from(JSON.stringify(snapshot)), STATE_AAD).toString('base64');
      await options.blobs.write(Buffer.from(JSON.stringify({ v: 1, k: key.wrapped, c })));
    },
  };
}

/** For tests and benchmarks: state in memory. */
export function createMemoryStateStore(): StateStore & { saves: number } {
  let stored: string | undefined;
  const store = {
    saves: 0,
    load: async () => (stored === undefined ? undefined : (JSON.parse(stored) as TallySnapshot)),
    save: async (snapshot: TallySnapshot) => {
      stored = JSON.stringify(snapshot);
      store.saves += 1;
    },
  };
  return store;
}
