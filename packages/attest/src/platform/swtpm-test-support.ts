// Test support: a fresh swtpm (TPM 2.0 simulator) per test on a free loopback port, killed with its children.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SWTPM_AVAILABLE = existsSync('/usr/bin/swtpm');

export interface Swtpm {
  /** `tcp://127.0.0.1:PORT`, for `openTpm`. */
  readonly address: string;
  /** `unix:PATH` of the control channel, for `resetTpmSimulator`. */
  readonly ctrl: string;
  stop(): Promise<void>;
}

/** A port the kernel just handed out on 127.0.0.1 (bound to 0, then released for swtpm to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    try {
      // The process group: swtpm and anything it started.
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      resolve();
    }
  });
}

/**
 * Starts swtpm with a new state directory; it serves raw TPM 2.0 commands on a TCP port. With
 * `not-need-init` the TPM waits for TPM2_Startup, which the platform sends.
 */
export async function startSwtpm(): Promise<Swtpm> {
  const dir = mkdtempSync(join(tmpdir(), 'sr-swtpm-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      'swtpm',
      [
        'socket',
        '--tpm2',
        '--tpmstate',
        `dir=${dir}`,
        '--server',
        `type=tcp,port=${port},bindaddr=127.0.0.1`,
        '--ctrl',
        `type=unixio,path=${join(dir, 'ctrl.sock')}`,
        '--flags',
        'not-need-init',
      ],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      if (await accepts(port)) {
        return {
          address: `tcp://127.0.0.1:${port}`,
          ctrl: `unix:${join(dir, 'ctrl.sock')}`,
          stop: async () => {
            await kill(child);
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await kill(child);
    if (!/address already in use/i.test(stderr)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`swtpm did not start: ${stderr.trim()}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('swtpm found no free port');
}
