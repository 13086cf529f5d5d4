// Spawning and watching a runtime's child process: output piping, exit status, start failures.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { LauncherError } from '../errors.ts';
import type { ContainerExit, ContainerOutput } from './types.ts';

/** Exit status in the shell's convention: the code, or 128 + the signal number. */
export function toContainerExit(code: number | null, signal: NodeJS.Signals | null): ContainerExit {
  if (code !== null) return { exitCode: code };
  const signalNumber = signal ? (constants.signals[signal] ?? 0) : 0;
  return signal ? { exitCode: 128 + signalNumber, signal } : { exitCode: 128 };
}

export interface SpawnedChild {
  readonly child: ChildProcess;
  readonly exited: Promise<ContainerExit>;
}

/** Spawns and waits until the process really started (or fails with ERR_LAUNCHER_RUNTIME_START). */
export async function spawnChild(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
  output: ContainerOutput,
): Promise<SpawnedChild> {
  const child = spawn(command, args, { ...options, stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => output.stdout(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.stderr(chunk));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (cause) =>
      reject(new LauncherError('ERR_LAUNCHER_RUNTIME_START', `could not start ${command}`, { cause })),
    );
  });
  const exited = new Promise<ContainerExit>((resolve) => {
    // 'close' waits for the output pipes to drain, so the last lines are delivered before the exit.
    child.once('close', (code, signal) => resolve(toContainerExit(code, signal)));
  });
  return { child, exited };
}

/** Runs a short helper command to completion, returning its status and output (for `runc kill`, probes). */
export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', () => resolve({ code: null, stdout, stderr }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a helper command with `input` on its stdin (a key for cryptsetup: never in argv or a file). */
export function runCommandWithInput(
  command: string,
  args: readonly string[],
  input: Uint8Array,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.once('error', () => resolve({ code: null, stdout, stderr }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Until `done()`, keeps the runtime's stderr (its own start-up errors) to put in a start failure;
 * the workload's output still flows to `output` either way.
 */
export function captureStartupErrors(output: ContainerOutput): {
  output: ContainerOutput;
  lastLine(): string;
  done(): void;
} {
  let captured = '';
  let capturing = true;
  return {
    output: {
      stdout: (chunk) => output.stdout(chunk),
      stderr: (chunk) => {
        if (capturing && captured.length < 4096) captured += chunk.toString();
        output.stderr(chunk);
      },
    },
    lastLine: () => captured.trim().split('\n').at(-1)?.slice(0, 300) ?? '',
    done: () => {
      capturing = false;
      captured = '';
    },
  };
}
