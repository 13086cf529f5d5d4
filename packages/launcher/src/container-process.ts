// From the image config and the launch spec to the workload's process: args, env, cwd, user, ports
// (docs/launcher.md).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LauncherError } from './errors.ts';
import type { LaunchSpec } from './launch-spec.ts';

/** The part of an OCI image config (`.config`) the launcher reads. */
export interface ImageConfig {
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Env?: readonly string[] | null;
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly ExposedPorts?: Readonly<Record<string, unknown>> | null;
}

/** containerd's default when the image sets no env (`oci.defaultUnixEnv`). */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ContainerProcess {
  readonly args: readonly string[];
  /** Final `NAME=value` list, in measurement order: image env, overrides, HOSTNAME. */
  readonly env: readonly string[];
  readonly cwd: string;
  /** The image's `User` as written (resolved against the rootfs by `resolveImageUser`). */
  readonly user: string;
  /** `EXPOSE`d ports as `N/tcp` or `N/udp`. */
  readonly exposedPorts: readonly string[];
}

function imageInvalid(message: string): LauncherError {
  return new LauncherError('ERR_LAUNCHER_IMAGE_INVALID', message);
}

/** Sets `NAME=value` in an env list: replaces an existing NAME in place, else appends (containerd's WithEnv). */
function setEnv(env: string[], entry: string): void {
  const name = entry.slice(0, entry.indexOf('='));
  const index = env.findIndex((existing) => existing.slice(0, existing.indexOf('=')) === name);
  if (index >= 0) env[index] = entry;
  else env.push(entry);
}

/**
 * Builds the process: ENTRYPOINT + (tee-cmd or CMD); image ENV, then tee-env overrides, then
 * `HOSTNAME=<instance name>`. The image needs an ENTRYPOINT when tee-cmd is given (Google's check
 * `len(args) > len(tee-cmd)`).
 */
export function buildContainerProcess(config: ImageConfig, spec: LaunchSpec, hostname: string): ContainerProcess {
  const entrypoint = config.Entrypoint ?? [];
  const cmd = spec.cmdOverride.length > 0 ? spec.cmdOverride : (config.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length <= spec.cmdOverride.length) {
    throw imageInvalid(
      `the image has no ENTRYPOINT: ${args.length} args is not more than the ${spec.cmdOverride.length} of tee-cmd`,
    );
  }
  const imageEnv = config.Env && config.Env.length > 0 ? config.Env : [DEFAULT_PATH_ENV];
  const env: string[] = [];
  for (const entry of imageEnv) {
    if (!entry.includes('=')) throw imageInvalid(`the image ENV entry "${entry}" has no '='`);
    setEnv(env, entry);
  }
  for (const override of spec.envOverrides) setEnv(env, `${override.name}=${override.value}`);
  setEnv(env, `HOSTNAME=${hostname}`);
  const cwd = config.WorkingDir && config.WorkingDir !== '' ? config.WorkingDir : '/';
  if (!cwd.startsWith('/')) throw imageInvalid(`the image WorkingDir "${cwd}" is not absolute`);
  return {
    args,
    env,
    cwd,
    user: config.User ?? '',
    exposedPorts: Object.keys(config.ExposedPorts ?? {})
      .map((port) => (port.includes('/') ? port : `${port}/tcp`))
      .sort(),
  };
}

/**
 * Resolves the image's `User` (`uid`, `uid:gid`, `name`, `name:group`) to numbers, reading the
 * rootfs's /etc/passwd and /etc/group for names, as container runtimes do.
 */
export async function resolveImageUser(user: string, rootfs: string): Promise<{ uid: number; gid: number }> {
  if (user === '' || user === 'root') return { uid: 0, gid: 0 };
  const [userPart = '', groupPart] = user.split(':');
  const uidEntry = await lookup(join(rootfs, 'etc', 'passwd'), userPart);
  const uid = /^\d+$/.test(userPart) ? Number(userPart) : uidEntry?.[2];
  if (uid === undefined) throw imageInvalid(`the image User "${user}" is not in the image's /etc/passwd`);
  let gid = uidEntry?.[3] ?? 0;
  if (groupPart !== undefined) {
    const groupId = /^\d+$/.test(groupPart)
      ? Number(groupPart)
      : (await lookup(join(rootfs, 'etc', 'group'), groupPart))?.[2];
    if (groupId === undefined) throw imageInvalid(`the image User "${user}" names a group not in /etc/group`);
    gid = groupId;
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** The colon-separated line whose first field (name) or third field (id) matches; ids as numbers. */
async function lookup(path: string, key: string): Promise<[string, string, number, number] | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === key || fields[2] === key) {
      return [fields[0] ?? '', fields[1] ?? '', Number(fields[2]), Number(fields[3] ?? 0)];
    }
  }
  return undefined;
}
