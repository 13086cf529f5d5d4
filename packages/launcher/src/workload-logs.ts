// Splits the workload's output into lines and sends each to the destinations the log-redirect decision allows.
import type { LogDestinations } from './log-redirect.ts';
import type { ContainerOutput } from './runtime/types.ts';

export type LogStream = 'stdout' | 'stderr';

/** Where workload lines go: the instance's serial output and the logging service. */
export interface WorkloadLogSink {
  serial(stream: LogStream, line: string): void;
  /** Cloud Logging's shape: severity INFO for stdout, ERROR for stderr. */
  cloudLogging(entry: { severity: 'INFO' | 'ERROR'; message: string }): void;
}

const MAX_LINE_BYTES = 64 * 1024;

export interface LineOutput extends ContainerOutput {
  /** Emits a last line without a newline, if any. */
  flush(): void;
}

export function createWorkloadOutput(destinations: LogDestinations, sink: WorkloadLogSink): LineOutput {
  const pending: Record<LogStream, string> = { stdout: '', stderr: '' };
  const emit = (stream: LogStream, line: string): void => {
    if (destinations.serial) sink.serial(stream, line);
    if (destinations.cloudLogging)
      sink.cloudLogging({ severity: stream === 'stdout' ? 'INFO' : 'ERROR', message: line });
  };
  const push = (stream: LogStream) => (chunk: Buffer) => {
    // Nothing is buffered when no destination is allowed: the output is dropped as it comes.
    if (!destinations.serial && !destinations.cloudLogging) return;
    const lines = (pending[stream] + chunk.toString('utf8')).split('\n');
    pending[stream] = lines.pop() ?? '';
    if (pending[stream].length > MAX_LINE_BYTES) {
      lines.push(pending[stream]);
      pending[stream] = '';
    }
    for (const line of lines) emit(stream, line);
  };
  return {
    stdout: push('stdout'),
    stderr: push('stderr'),
    flush: () => {
      for (const stream of ['stdout', 'stderr'] as const) {
        if (pending[stream] !== '') emit(stream, pending[stream]);
        pending[stream] = '';
      }
    },
  };
}
