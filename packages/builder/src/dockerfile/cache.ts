// The build cache: results by a key over every build input (source, Dockerfile, args, base digests,
// epoch, engine), blobs in one content-addressed OCI layout shared with fetched base images.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatsError, type ImageConfig, type ImageManifest, type OciLayout, openOciLayout } from '@sealroom/formats';
import type { BuiltImage } from '../build.ts';
import type { BuiltBlob } from '../image.ts';
import type { LayerBlob } from '../layer.ts';
import type { DockerfileBuildInputs } from './build.ts';

export interface BuildCache {
  readonly dir: string;
  /** Blob store shared by cached results and fetched base images. */
  readonly blobs: OciLayout;
  load(key: string): Promise<BuiltImage | undefined>;
  store(key: string, image: BuiltImage): Promise<void>;
}

interface CachedResult {
  readonly digest: string;
  readonly manifestSize: number;
  readonly inputs: DockerfileBuildInputs;
}

export async function openBuildCache(dir: string): Promise<BuildCache> {
  mkdirSync(join(dir, 'results'), { recursive: true });
  const blobs = await openOciLayout(join(dir, 'blobs'), { create: true });
  const resultPath = (key: string) => join(dir, 'results', `${key}.json`);
  return {
    dir,
    blobs,
    async load(key) {
      let record: CachedResult;
      try {
        record = JSON.parse(readFileSync(resultPath(key), 'utf8')) as CachedResult;
      } catch {
        return undefined;
      }
      try {
        const manifestBytes = await blobs.readBlob(record.digest);
        const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
        const configBytes = await blobs.readBlob(manifest.config.digest);
        const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
        const layers: LayerBlob[] = [];
        for (const [i, d] of manifest.layers.entries()) {
          layers.push({
            mediaType: d.mediaType,
            bytes: await blobs.readBlob(d.digest),
            digest: d.digest,
            diffId: config.rootfs.diff_ids[i] as string,
          });
        }
        const blob = (bytes: Buffer, mediaType: string, digest: string): BuiltBlob => ({
          descriptor: { mediaType, digest, size: bytes.length },
          bytes,
        });
        return {
          digest: record.digest,
          configDigest: manifest.config.digest,
          manifest: manifestBytes,
          config,
          layers,
          blobs: {
            config: blob(configBytes, manifest.config.mediaType, manifest.config.digest),
            manifest: blob(manifestBytes, manifest.mediaType, record.digest),
          },
          inputs: record.inputs,
        };
      } catch (error) {
        // A blob removed or damaged since: the result is rebuilt rather than trusted.
        if (error instanceof FormatsError) return undefined;
        throw error;
      }
    },
    async store(key, image) {
      for (const layer of image.layers) await blobs.putBlob(layer.bytes, layer.digest);
      await blobs.putBlob(image.blobs.config.bytes, image.configDigest);
      await blobs.putBlob(image.manifest, image.digest);
      const record: CachedResult = {
        digest: image.digest,
        manifestSize: image.manifest.length,
        inputs: image.inputs as DockerfileBuildInputs,
      };
      const tmp = `${resultPath(key)}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(record));
      renameSync(tmp, resultPath(key));
    },
  };
}
