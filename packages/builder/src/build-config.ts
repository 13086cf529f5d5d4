// The build config file (`sealroom.build.json`): entry, ENTRYPOINT/CMD/ENV/EXPOSE, labels and the
// launch policy, parsed once into narrow types; the launch policy becomes `tee.launch_policy.*` labels.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUTPUT_POLICY_LABEL, formatOutputPolicy, parseOutputPolicy } from '@sealroom/core';
import { z } from 'zod';
import { BuilderError } from './errors.ts';
import type { Compression } from './layer.ts';

export const BUILD_CONFIG_FILE = 'sealroom.build.json';

const monitoring = z.enum(['none', 'memoryonly', 'all']);

/** The `tee.launch_policy.*` labels (docs/launcher.md), typed; rendered to the strings the launcher parses. */
const launchPolicySchema = z
  .object({
    allow_env_override: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).optional(),
    allow_cmd_override: z.boolean().optional(),
    log_redirect: z.enum(['always', 'never', 'debugonly']).optional(),
    monitoring_memory_allow: z.enum(['always', 'never', 'debugonly']).optional(),
    hardened_monitoring: monitoring.optional(),
    debug_monitoring: monitoring.optional(),
    allow_mount_destinations: z.array(z.string().regex(/^\/[^:]*$/)).optional(),
    allow_capabilities: z.boolean().optional(),
    allow_cgroups: z.boolean().optional(),
  })
  .strict()
  .refine((p) => p.monitoring_memory_allow === undefined || (!p.hardened_monitoring && !p.debug_monitoring), {
    message: 'monitoring_memory_allow cannot be combined with hardened_monitoring or debug_monitoring',
  });

export type LaunchPolicyConfig = z.infer<typeof launchPolicySchema>;

const buildConfigSchema = z
  .object({
    entry: z.string().min(1).optional(),
    entrypoint: z.array(z.string()).min(1).optional(),
    cmd: z.array(z.string()).optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
    expose: z.array(z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d{1,5}\/(tcp|udp)$/)])).optional(),
    labels: z.record(z.string().min(1), z.string()).optional(),
    launchPolicy: launchPolicySchema.optional(),
    /** The image's output policy (k collaborators, minimum count, optional DP), as the `sealroom.output_policy` label. */
    outputPolicy: z.unknown().optional(),
    workingDir: z.string().startsWith('/').optional(),
    user: z.string().optional(),
    stopSignal: z.string().optional(),
    sourceDateEpoch: z.number().int().min(0).optional(),
    compression: z.enum(['gzip', 'none']).optional(),
    external: z.array(z.string()).optional(),
  })
  .strict();

export type BuildConfigFile = z.infer<typeof buildConfigSchema>;

export interface BuildConfig {
  readonly entry: string;
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly exposedPorts: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly workingDir: string;
  readonly user: string | undefined;
  readonly stopSignal: string | undefined;
  readonly sourceDateEpoch: number;
  readonly compression: Compression;
  readonly external: readonly string[];
}

export function parseBuildConfig(input: unknown, defaults: { readonly entry: string }): BuildConfig {
  const parsed = buildConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BuilderError(
      'ERR_BUILDER_CONFIG',
      `Invalid build config at '${issue?.path.join('.') || '(root)'}': ${issue?.message}.`,
    );
  }
  const c = parsed.data;
  if (c.labels && Object.keys(c.labels).some((k) => k.startsWith('tee.launch_policy.'))) {
    throw new BuilderError('ERR_BUILDER_CONFIG', 'Set tee.launch_policy.* through launchPolicy, not labels.');
  }
  if (c.labels?.[OUTPUT_POLICY_LABEL] !== undefined) {
    throw new BuilderError('ERR_BUILDER_CONFIG', `Set ${OUTPUT_POLICY_LABEL} through outputPolicy, not labels.`);
  }
  let outputPolicyLabel: Record<string, string> = {};
  if (c.outputPolicy !== undefined) {
    try {
      outputPolicyLabel = { [OUTPUT_POLICY_LABEL]: formatOutputPolicy(parseOutputPolicy(c.outputPolicy)) };
    } catch (cause) {
      throw new BuilderError(
        'ERR_BUILDER_CONFIG',
        `Invalid build config at 'outputPolicy': ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }
  return {
    entry: c.entry ?? defaults.entry,
    entrypoint: c.entrypoint,
    cmd: c.cmd ?? [],
    env: Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`),
    exposedPorts: [...new Set((c.expose ?? []).map((p) => (typeof p === 'number' ? `${p}/tcp` : p)))].sort(),
    labels: { ...c.labels, ...toLaunchPolicyLabels(c.launchPolicy ?? {}), ...outputPolicyLabel },
    workingDir: c.workingDir ?? '/app',
    user: c.user,
    stopSignal: c.stopSignal,
    sourceDateEpoch: c.sourceDateEpoch ?? 0,
    compression: c.compression ?? 'gzip',
    external: c.external ?? [],
  };
}

/** Labels as the launcher parses them: comma lists for env names, colon lists for mounts, `true|false`. */
export function toLaunchPolicyLabels(policy: LaunchPolicyConfig): Record<string, string> {
  const labels: Record<string, string> = {};
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined) labels[`tee.launch_policy.${key}`] = value;
  };
  set('allow_env_override', policy.allow_env_override?.join(','));
  set('allow_cmd_override', policy.allow_cmd_override === undefined ? undefined : String(policy.allow_cmd_override));
  set('log_redirect', policy.log_redirect);
  set('monitoring_memory_allow', policy.monitoring_memory_allow);
  set('hardened_monitoring', policy.hardened_monitoring);
  set('debug_monitoring', policy.debug_monitoring);
  set('allow_mount_destinations', policy.allow_mount_destinations?.join(':'));
  set('allow_capabilities', policy.allow_capabilities === undefined ? undefined : String(policy.allow_capabilities));
  set('allow_cgroups', policy.allow_cgroups === undefined ? undefined : String(policy.allow_cgroups));
  return labels;
}

/** Reads `<dir>/sealroom.build.json` (optional) and picks the entry from it or package.json `main`. */
export function loadBuildConfig(dir: string, configPath?: string): BuildConfig {
  const path = configPath ?? join(dir, BUILD_CONFIG_FILE);
  let raw: unknown = {};
  if (existsSync(path)) {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (cause) {
      throw new BuilderError('ERR_BUILDER_CONFIG', `Build config '${BUILD_CONFIG_FILE}' is not valid JSON.`, { cause });
    }
  } else if (configPath !== undefined) {
    throw new BuilderError('ERR_BUILDER_CONFIG', `Build config '${configPath}' does not exist.`);
  }
  let entry = 'index.js';
  const pkgPath = join(dir, 'package.json');
  if (existsSync(pkgPath)) {
    const main = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { main?: unknown }).main;
    if (typeof main === 'string') entry = main;
  }
  return parseBuildConfig(raw, { entry });
}
