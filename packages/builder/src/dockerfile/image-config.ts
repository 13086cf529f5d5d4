// The image config of a Dockerfile build in canonical form: the engine's runtime settings kept, its
// identity label and every build time dropped, history written from the Dockerfile, times from the epoch.
import type { ContainerConfig, HistoryEntry, ImageConfig } from '@sealroom/formats';
import { buildImageConfig } from '../image.ts';

/** Labels the engine adds about itself; the engine's version is in the provenance instead. */
const ENGINE_LABELS = new Set(['io.buildah.version']);

export interface CanonicalConfigOptions {
  readonly created: string;
  /** The base image's own history, kept as it is (it is part of the pinned base). */
  readonly baseHistory: readonly HistoryEntry[];
  readonly diffIds: readonly string[];
  /** Whether the build added a layer on top of the base. */
  readonly addedLayer: boolean;
  /** The instructions that built on the base, as the Dockerfile has them (FROM lines excluded). */
  readonly steps: readonly string[];
}

export function toDockerfileImageConfig(engine: ImageConfig, options: CanonicalConfigOptions): ImageConfig {
  const c: ContainerConfig = engine.config ?? {};
  const labels = Object.fromEntries(Object.entries(c.Labels ?? {}).filter(([k]) => !ENGINE_LABELS.has(k)));
  const base = buildImageConfig({
    created: options.created,
    architecture: engine.architecture,
    config: {
      ...(c.User === undefined || c.User === '' ? {} : { User: c.User }),
      ...(c.ExposedPorts === undefined ? {} : { ExposedPorts: c.ExposedPorts }),
      ...(c.Env === undefined ? {} : { Env: c.Env }),
      ...(c.Entrypoint === undefined || c.Entrypoint === null ? {} : { Entrypoint: c.Entrypoint }),
      ...(c.Cmd === undefined || c.Cmd === null ? {} : { Cmd: c.Cmd }),
      ...(c.Volumes === undefined ? {} : { Volumes: c.Volumes }),
      ...(c.WorkingDir === undefined || c.WorkingDir === '' ? {} : { WorkingDir: c.WorkingDir }),
      ...(Object.keys(labels).length === 0 ? {} : { Labels: labels }),
      ...(c.StopSignal === undefined || c.StopSignal === '' ? {} : { StopSignal: c.StopSignal }),
    },
    layers: [],
  });
  // One entry per instruction, in the author's words rather than the engine's (whose wording and
  // content hashes vary between its versions); all but the last are empty, as everything the build
  // added is one layer.
  const steps: HistoryEntry[] = options.steps.map((text, i) => ({
    created: options.created,
    created_by: text,
    ...(options.addedLayer && i === options.steps.length - 1 ? {} : { empty_layer: true }),
  }));
  if (options.addedLayer && steps.length === 0) steps.push({ created: options.created, created_by: 'sealroom build' });
  return {
    ...base,
    rootfs: { type: 'layers', diff_ids: [...options.diffIds] },
    history: [...options.baseHistory, ...steps],
  };
}
