// gRPC load from its own process: a worker running @grpc/grpc-js clients over TLS with a bearer token, `concurrency`
// unary calls in flight, reporting calls per second and latency percentiles (run by `runGrpcLoad`).
import { spawn } from 'node:child_process';
import type { ServiceClientConstructor } from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './wrk.ts';

export interface GrpcLoadSpec {
  /** `host:port` of the TLS listener. */
  readonly target: string;
  readonly caPem: string;
  readonly token: string;
  /** Proto files and include directories the service is defined in. */
  readonly protoFiles: readonly string[];
  readonly includeDirs: readonly string[];
  /** Fully qualified service name, e.g. `google.cloud.kms.v1.KeyManagementService`. */
  readonly service: string;
  readonly method: string;
  /** The request message as JSON; fields named in `bytesFields` are base64 and sent as bytes. */
  readonly request: Record<string, unknown>;
  readonly bytesFields?: readonly string[];
  readonly seconds: number;
  readonly warmupSeconds?: number;
  readonly concurrency?: number;
}

export interface GrpcLoadHooks {
  /** Called when the measured window starts and ends (to sample the server's CPU time there). */
  readonly onStart?: () => void;
  readonly onEnd?: () => void;
}

/** Runs the worker process on `spec`; resolves with its figures. */
export async function runGrpcLoad(spec: GrpcLoadSpec, hooks: GrpcLoadHooks = {}): Promise<LoadResult> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify(spec));
  let buffered = '';
  let result: LoadResult | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line === 'start') hooks.onStart?.();
      else if (line.startsWith('{')) {
        hooks.onEnd?.();
        result = JSON.parse(line) as LoadResult;
      }
      newline = buffered.indexOf('\n');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || result === undefined) throw new Error(`gRPC load worker exited with ${code}`);
  return result;
}

async function work(spec: GrpcLoadSpec): Promise<LoadResult> {
  const grpc = await import('@grpc/grpc-js');
  const protoLoader = await import('@grpc/proto-loader');
  const { GRPC_LOADER_OPTIONS } = await import('@sealroom/transport');
  const definition = protoLoader.loadSync([...spec.protoFiles], {
    ...GRPC_LOADER_OPTIONS,
    includeDirs: [...spec.includeDirs],
  });
  const Client = spec.service
    .split('.')
    .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], grpc.loadPackageDefinition(definition));
  const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.add('authorization', `Bearer ${spec.token}`);
    callback(null, metadata);
  });
  const credentials = grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(Buffer.from(spec.caPem)),
    bearer,
  );
  const host = spec.target.slice(0, spec.target.lastIndexOf(':'));
  const client = new (Client as ServiceClientConstructor)(spec.target, credentials, {
    'grpc.ssl_target_name_override': host === '127.0.0.1' ? 'localhost' : host,
  }) as unknown as Record<string, (request: object, callback: (error: Error | null) => void) => void>;
  const request: Record<string, unknown> = { ...spec.request };
  for (const field of spec.bytesFields ?? []) request[field] = Buffer.from(String(request[field]), 'base64');
  const call = () =>
    new Promise<Error | null>((resolve) => client[spec.method]?.call(client, request, (error) => resolve(error)));
  const concurrency = spec.concurrency ?? 32;
  let firstError: Error | null = null;
  const loop = async (until: number, latencies: number[] | undefined, counts: { ok: number; failed: number }) => {
    while (performance.now() < until) {
      const started = performance.now();
      const error = await call();
      if (error) {
        counts.failed++;
        firstError ??= error;
      } else {
        counts.ok++;
        latencies?.push(performance.now() - started);
      }
    }
  };
  const warm = { ok: 0, failed: 0 };
  const warmUntil = performance.now() + (spec.warmupSeconds ?? 1) * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => loop(warmUntil, undefined, warm)));
  process.stdout.write('start\n');
  const latencies: number[] = [];
  const counts = { ok: 0, failed: 0 };
  const started = performance.now();
  const until = started + spec.seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => loop(until, latencies, counts)));
  const seconds = (performance.now() - started) / 1000;
  (client as unknown as { close(): void }).close();
  if (firstError) console.error(`gRPC ${spec.method}: first failure: ${String(firstError)}`);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? Number.NaN;
  return {
    rps: counts.ok / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    requests: counts.ok + counts.failed,
    failed: counts.failed,
    seconds,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const result = await work(JSON.parse(input) as GrpcLoadSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
