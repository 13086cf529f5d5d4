// Runs the host's network tools (`ip`, `nft`) and fails with the tool's own message when they fail.
import { spawn } from 'node:child_process';
import { LauncherError } from '../errors.ts';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args…` with optional stdin; never throws (code null = could not run). */
export function execTool(command: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', () => resolve({ code: null, stdout, stderr }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Like execTool, but a non-zero exit is an ERR_LAUNCHER_NETWORK error naming the step. */
export async function mustRun(step: string, command: string, args: readonly string[], input?: string) {
  const result = await execTool(command, args, input);
  if (result.code !== 0)
    throw new LauncherError(
      'ERR_LAUNCHER_NETWORK',
      `${step}: ${command} ${args.join(' ')} failed: ${(result.stderr.trim() || `exit ${result.code}`).slice(0, 400)}`,
    );
  return result;
}
