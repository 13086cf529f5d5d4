// Remote hosts in end-to-end tests: network namespaces on a bridge (the control plane in the root namespace),
// `sealroom host join` and `sealroom host run` as real processes inside them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SEALROOM_BIN } from './server-process.ts';

export interface Namespace {
  readonly name: string;
  readonly address: string;
}

export interface NetnsLab {
  /** The bridge's address in the root namespace: where the control plane listens. */
  readonly gateway: string;
  readonly namespaces: readonly Namespace[];
  cleanup(): void;
}

const ip = (...args: string[]) => {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`);
};

/** Why the netns tests cannot run here, or false: they need root, `ip netns` and veth/bridge links. */
export function netnsMissing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for ip netns';
  const probe = `srprobe${randomBytes(3).toString('hex')}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `ip netns add fails here: ${added.stderr.trim() || 'no ip command'}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return false;
}

/**
 * `count` namespaces, each with a veth to one bridge in the root namespace, on a random /24 of 10.0.0.0/8 so
 * that concurrent runs do not collide. Names carry a random tag for the same reason.
 */
export function createNetnsLab(count: number): NetnsLab {
  const tag = randomBytes(3).toString('hex');
  const subnet = `10.${200 + ((randomBytes(1)[0] as number) % 50)}.${(randomBytes(1)[0] as number) % 250}`;
  const bridge = `srb${tag}`;
  const gateway = `${subnet}.1`;
  const namespaces: Namespace[] = [];
  const links: string[] = [];
  const cleanup = () => {
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns.name]);
    for (const link of links) spawnSync('ip', ['link', 'del', link]);
    spawnSync('ip', ['link', 'del', bridge]);
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (let i = 1; i <= count; i++) {
      const name = `sr-h${i}-${tag}`;
      const outer = `srv${i}${tag}`;
      const address = `${subnet}.${10 + i}`;
      ip('netns', 'add', name);
      namespaces.push({ name, address });
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
      links.push(outer);
      ip('link', 'set', outer, 'master', bridge);
      ip('link', 'set', outer, 'up');
      ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', name, 'link', 'set', 'eth0', 'up');
      ip('-n', name, 'link', 'set', 'lo', 'up');
      ip('-n', name, 'route', 'add', 'default', 'via', gateway);
    }
  } catch (error) {
    cleanup();
    throw error;
  }
  return { gateway, namespaces, cleanup };
}

/** Runs `sealroom ARGS` in the namespace (or here, without one) to completion. */
export function sealroomIn(
  ns: string | undefined,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, argv] = commandIn(ns, args);
  return new Promise((resolve) => {
    const run = spawn(command, argv, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    run.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    run.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    run.stdin.end(options.input ?? '');
    run.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function commandIn(ns: string | undefined, args: readonly string[]): [string, string[]] {
  // nsenter enters the network namespace only and execs its command, so the pid a test gets is the agent's own.
  // (`ip netns exec` would also remount /sys, hiding the cgroup mounts runc needs.)
  return ns === undefined
    ? [process.execPath, [SEALROOM_BIN, ...args]]
    : ['nsenter', [`--net=/run/netns/${ns}`, process.execPath, SEALROOM_BIN, ...args]];
}

export interface HostAgentProcess {
  readonly pid: number;
  readonly logs: () => string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** `sealroom host run --state-dir DIR` in the namespace, until stopped. */
export function startHostAgent(
  ns: string | undefined,
  stateDir: string,
  extra: readonly string[] = [],
): HostAgentProcess {
  const [command, argv] = commandIn(ns, ['host', 'run', '--state-dir', stateDir, '--grace-seconds', '3', ...extra]);
  const child: ChildProcess = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    pid: child.pid as number,
    logs: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The runc containers still known under a host's instance directories (the watchdog's view). */
export function runcContainers(stateDir: string): string[] {
  const dir = join(stateDir, 'instances');
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const root = join(dir, entry, 'work', 'runc');
    if (!existsSync(root)) continue;
    const listed = spawnSync('runc', ['--root', root, 'list', '-q'], { encoding: 'utf8' });
    found.push(...listed.stdout.split('\n').filter((l) => l.trim() !== ''));
  }
  return found;
}

/** The pid of a runc container's init (its workload), or undefined when it is not running. */
export function containerPid(stateDir: string, instanceId: string, container: string): number | undefined {
  const root = join(stateDir, 'instances', instanceId, 'work', 'runc');
  const state = spawnSync('runc', ['--root', root, 'state', container], { encoding: 'utf8' });
  if (state.status !== 0) return undefined;
  const parsed = JSON.parse(state.stdout) as { pid?: number; status?: string };
  return parsed.status === 'running' ? parsed.pid : undefined;
}
