// Picks the strongest container runtime this host can run: runc, then bwrap, then a plain process.
import { runCommand } from './child.ts';
import { createBwrapRuntime } from './bwrap.ts';
import { createProcessRuntime } from './process.ts';
import { createRuncRuntime } from './runc.ts';
import type { ContainerRuntime, RuntimeKind } from './types.ts';

export interface RuntimeDetection {
  readonly runtime: ContainerRuntime | undefined;
  /** One line per runtime tried, for the instance status and the serial log. */
  readonly report: readonly string[];
}

export interface DetectRuntimeOptions {
  /** Try only these, in this order (default: runc, bwrap, process). */
  readonly candidates?: readonly RuntimeKind[];
  readonly runcBinary?: string;
  readonly bwrapBinary?: string;
}

/**
 * Probes each runtime for real (a version is not enough: bwrap may lack user namespaces, runc may
 * lack root) and returns the first that works, with the reasons the others were skipped.
 */
export async function detectContainerRuntime(options: DetectRuntimeOptions = {}): Promise<RuntimeDetection> {
  const report: string[] = [];
  for (const kind of options.candidates ?? ['runc', 'bwrap', 'process']) {
    if (kind === 'runc') {
      const binary = options.runcBinary ?? 'runc';
      const version = await runCommand(binary, ['--version']);
      if (version.code !== 0) {
        report.push('runc: not installed');
      } else if (process.getuid?.() !== 0) {
        report.push('runc: installed, but the launcher does not run as root');
      } else {
        report.push(`runc: ${version.stdout.split('\n')[0]?.trim()}`);
        return { runtime: createRuncRuntime({ binary }), report };
      }
    } else if (kind === 'bwrap') {
      const binary = options.bwrapBinary ?? 'bwrap';
      const probe = await runCommand(binary, ['--ro-bind', '/', '/', '--unshare-all', '--share-net', 'true']);
      if (probe.code === 0) {
        report.push('bwrap: namespaces available');
        return { runtime: createBwrapRuntime({ binary }), report };
      }
      report.push(
        `bwrap: ${probe.code === null ? 'not installed' : `cannot create namespaces: ${probe.stderr.trim()}`}`,
      );
    } else {
      report.push('process: plain child process, NO isolation (development fallback)');
      return { runtime: createProcessRuntime(), report };
    }
  }
  return { runtime: undefined, report };
}
