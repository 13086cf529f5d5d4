// The instance's image source: pulls from an OCI registry with the instance service account's token, then unpacks.
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  LauncherError,
  type ImageSignature,
  type ImageSource,
  type PulledImage,
  createOciLayoutImageSource,
} from '@sealroom/launcher';
import { type OutboundClient, allowsHttp } from '@sealroom/outbound';
import { openOciLayout, pullToLayout, toDigestTag } from '@sealroom/formats';
import { hashTree, verifyCachedImage } from './image-cache.ts';
import {
  parseImageReference,
  REGISTRY_MAX_BODY_BYTES,
  REGISTRY_TIMEOUT_MS,
  RegistryClient,
  RegistryError,
} from '@sealroom/registry';

const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface RegistryImageOptions {
  /** The deployment's base URL: a reference naming this host is pulled from there (same scheme). */
  readonly baseUrl: string;
  readonly accessToken: () => Promise<string>;
  /**
   * The deployment's outbound client, its own base URL trusted: any other registry an instance names
   * is reached under the deployment's policy (https, public addresses, unless allow-listed).
   */
  readonly outbound: OutboundClient;
  /** The instance's service account, named when the registry refuses it the image. */
  readonly serviceAccountEmail?: string;
}

export interface RegistryImageSourceOptions extends RegistryImageOptions {
  /** The host's image cache: one OCI layout (blobs by digest, checked on write and read) and unpacked trees. */
  readonly cacheDir: string;
  /**
   * Reuse an unpacked tree across instances and boots (the container sees it read-only). Off for the
   * plain-process runtime, whose workload could write into the tree another instance then runs.
   */
  readonly shareRootfs: boolean;
  /** Where this instance unpacks when it does not share. */
  readonly instanceDir: string;
  /** Told about each cached blob that failed its digest check and was fetched again. */
  readonly onEvicted?: (digest: string) => void;
  /** Told when an unpacked tree no longer matches what was unpacked, and is unpacked again. */
  readonly onTreeChanged?: (imageDigest: string) => void;
}

interface UnpackedRecord {
  readonly configDigest?: string;
  readonly config: PulledImage['config'];
  /** `hashTree` of the tree as unpacked from verified blobs. */
  readonly tree?: { readonly digest: string; readonly sizeBytes: number };
}

/**
 * The deployment's own registry with its own scheme; another registry over `http://` when the outbound
 * policy allows plain http to it (its allow-list, loopback in dev mode), over `https://` otherwise.
 */
export function registryBaseUrl(registry: string, baseUrl: string, outbound: OutboundClient): string {
  const own = new URL(baseUrl);
  if (own.host === registry) return `${own.protocol}//${registry}`;
  return allowsHttp(new URL(`http://${registry}`), outbound.policy) ? `http://${registry}` : `https://${registry}`;
}

/**
 * A client for `registry`. Only the deployment's own registry gets the instance service account's
 * token: it means nothing elsewhere, and an operator-chosen registry must not collect it.
 */
function clientFor(registry: string, options: RegistryImageOptions, password: string): RegistryClient {
  const baseUrl = registryBaseUrl(registry, options.baseUrl, options.outbound);
  const own = new URL(options.baseUrl).host === registry;
  const fetch = (input: string | URL, init?: Parameters<OutboundClient['fetch']>[1]) =>
    options.outbound.fetch(input, { timeoutMs: REGISTRY_TIMEOUT_MS, maxBodyBytes: REGISTRY_MAX_BODY_BYTES, ...init });
  return new RegistryClient({ baseUrl, fetch, ...(own ? { username: 'oauth2accesstoken', password } : {}) });
}

/** Unpacks of the same digest in flight on this host, so two boots never unpack into one tree at once. */
const unpacking = new Map<string, Promise<UnpackedRecord>>();

/**
 * Pulls with the instance service account's token every time (the registry decides whether this
 * instance may read the image; a tag is resolved again), fetches only blobs the cache lacks, and
 * unpacks a digest once per host when sharing is on.
 */
export function createRegistryImageSource(options: RegistryImageSourceOptions): ImageSource {
  return {
    async pull(reference) {
      const ref = parseImageReference(reference);
      const client = clientFor(ref.registry, options, await options.accessToken());
      const layout = await openOciLayout(join(options.cacheDir, 'layout'), { create: true });
      // Blobs this pull fetched: the layout hashed each as it wrote it and refuses a mismatch.
      const written = new Set<string>();
      // Their bytes, as fetched and verified (by the client, and by the layout as it wrote them): this pull's
      // unpack reads them from here rather than reading and hashing again the ~140 MB it has just written.
      const fetched = new Map<string, Buffer>();
      const recording: typeof layout = {
        ...layout,
        putBlob: async (bytes, expected) => {
          // A file already there is not rewritten by putBlob, so only a blob absent until now counts.
          const had = expected === undefined || (await layout.hasBlob(expected));
          const put = await layout.putBlob(bytes, expected);
          if (!had) {
            written.add(put.digest);
            fetched.set(put.digest, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          }
          return put;
        },
      };
      const verified: typeof layout = {
        ...layout,
        readBlob: async (digest) => fetched.get(digest) ?? layout.readBlob(digest),
      };
      const fetchInto = () =>
        pullToLayout(client, ref.repository, ref.digest ?? ref.tag ?? 'latest', recording).catch((error: unknown) => {
          throw pullRefusal(error, reference, options.serviceAccountEmail) ?? error;
        });
      let manifest = await fetchInto();
      // Every use re-hashes the blobs the cache already held; one that fails is removed and fetched again, once.
      const evicted = await verifyCachedImage(layout, manifest.digest, written);
      if (evicted.length > 0) {
        for (const digest of evicted) options.onEvicted?.(digest);
        manifest = await fetchInto();
        const still = await verifyCachedImage(layout, manifest.digest);
        if (still.length > 0)
          throw new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', `blob ${still[0]} does not match its digest`);
      }
      const digest = manifest.digest;
      const pinned = `${ref.registry}/${ref.repository}@${digest}`;
      const hex = digest.replace(/^sha256:/, '');
      if (!options.shareRootfs) {
        const source = createOciLayoutImageSource({
          layoutDir: layout.dir,
          layout: verified,
          unpackDir: join(options.instanceDir, 'unpacked'),
        });
        return { ...(await source.pull(pinned)), reference };
      }
      const unpackDir = join(options.cacheDir, 'unpacked');
      const marker = join(unpackDir, hex, 'complete.json');
      let record = unpacking.get(digest);
      if (!record) {
        // Each boot's launcher is a process of its own: the unpack of a digest is locked across them too.
        record = withUnpackLock(join(unpackDir, `${hex}.lock`), async (): Promise<UnpackedRecord> => {
          const done = await readFile(marker, 'utf8').catch(() => undefined);
          if (done) {
            // Every use re-hashes the tree: one changed since it was unpacked is unpacked again.
            const recorded = JSON.parse(done) as UnpackedRecord;
            const now = await hashTree(join(unpackDir, hex, 'rootfs')).catch(() => undefined);
            if (recorded.tree && now?.digest === recorded.tree.digest) return recorded;
            options.onTreeChanged?.(digest);
            await rm(marker, { force: true });
          }
          const pulled = await createOciLayoutImageSource({ layoutDir: layout.dir, layout: verified, unpackDir }).pull(
            pinned,
          );
          const result: UnpackedRecord = {
            ...(pulled.configDigest === undefined ? {} : { configDigest: pulled.configDigest }),
            config: pulled.config,
            tree: await hashTree(pulled.rootfs),
          };
          await writeFile(marker, JSON.stringify(result));
          return result;
        }).finally(() => unpacking.delete(digest));
        unpacking.set(digest, record);
      }
      const { configDigest, config, tree } = await record;
      const rootfs = join(unpackDir, hex, 'rootfs');
      // The layout checks blobs by digest on write and read: these bytes hash to the config digest.
      const configBlob = configDigest === undefined ? undefined : await layout.readBlob(configDigest);
      return {
        reference,
        digest,
        ...(configDigest === undefined ? {} : { configDigest }),
        config,
        ...(configBlob === undefined ? {} : { configBlob }),
        rootfs,
        ...(tree === undefined ? {} : { sizeBytes: tree.sizeBytes }),
      };
    },
  };
}

const UNPACK_LOCK_WAIT_MS = 30 * 60_000;
const UNPACK_LOCK_POLL_MS = 100;

/** Whether a process of this host still runs (a lock whose holder died is taken over). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, holding the holder's pid): another launcher
 * unpacking the same digest waits, and one whose holder died takes the lock over. Bounded by a deadline.
 */
async function withUnpackLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + UNPACK_LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', 'another launcher kept the image cache locked too long');
      await new Promise((resolve) => setTimeout(resolve, UNPACK_LOCK_POLL_MS));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * A registry's 403 as the operator needs it: which principal lacks which permission on which repository,
 * and the binding that grants it (the serial console and the instance's status carry this message).
 */
export function pullRefusal(error: unknown, reference: string, email: string | undefined): RegistryError | undefined {
  const message = error instanceof Error ? error.message : '';
  const denied =
    /: 403 DENIED: Permission '([^']+)' denied on resource '(projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/']+))'/.exec(
      message,
    );
  if (!denied || !email) return undefined;
  const [, permission, repository, project, location, repo] = denied as unknown as string[];
  return new RegistryError(
    'ERR_REGISTRY_REMOTE',
    `The instance's service account ${email} may not pull ${reference}: it lacks '${permission}' on ${repository} ` +
      `(or the repository does not exist). The repository's owner grants it with: sealroom artifacts repositories ` +
      `add-iam-policy-binding ${repo} --location=${location} --project=${project} --member=serviceAccount:${email} ` +
      '--role=roles/artifactregistry.reader',
    { cause: error },
  );
}

/**
 * Cosign signatures of `digest` from each `tee-signed-image-repos` repository, found as Confidential Space's
 * launcher finds them: the
 * `sha256-<hex>.sig` manifest's layers, each a payload with its signature annotation. A repository
 * without signatures, or one that cannot be read, adds none.
 */
export async function discoverSignatures(
  repos: readonly string[],
  digest: string,
  options: RegistryImageOptions,
): Promise<ImageSignature[]> {
  const found: ImageSignature[] = [];
  const password = await options.accessToken();
  for (const repo of repos) {
    try {
      const ref = parseImageReference(repo);
      const client = clientFor(ref.registry, options, password);
      const manifest = await client.getManifest(ref.repository, toDigestTag(digest, '.sig'));
      const json = JSON.parse(manifest.bytes.toString('utf8')) as {
        layers?: { digest: string; annotations?: Record<string, string> }[];
      };
      for (const layer of json.layers ?? []) {
        const signature = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
        if (!signature) continue;
        found.push({
          payload: await client.getBlob(ref.repository, layer.digest),
          signature: Buffer.from(signature, 'base64'),
        });
      }
    } catch {
      // Google's launcher logs and skips a repository it cannot read; the caller logs the count.
    }
  }
  return found;
}
