// A registry on a loopback port over an in-memory IAM, for this package's tests and the builder's.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIamTestContext, type IamTestContext } from '@sealroom/iam/testing';
import { buildRestApp, type ServiceContext } from '@sealroom/transport';
import { createRegistryService } from './module.ts';

export interface RegistryTestServer {
  readonly iam: IamTestContext;
  readonly app: Awaited<ReturnType<typeof buildRestApp>>;
  readonly baseUrl: string;
  /** `127.0.0.1:PORT`, the registry part of image names. */
  readonly host: string;
  readonly stateDir: string;
  close(): Promise<void>;
}

export async function startRegistryTestServer(): Promise<RegistryTestServer> {
  const iam = await createIamTestContext();
  const stateDir = mkdtempSync(join(tmpdir(), 'sealroom-registry-'));
  const settings = { ...iam.context.settings, stateDir, baseUrl: 'http://127.0.0.1:0' };
  const context: ServiceContext = { ...iam.context, settings };
  const service = await createRegistryService(context);
  const app = await buildRestApp({
    routes: service.routes,
    authenticator: context.authenticator,
    logger: context.logger,
    logRequests: 'errors',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  settings.baseUrl = `http://127.0.0.1:${port}`;
  return {
    iam,
    app,
    baseUrl: settings.baseUrl,
    host: `127.0.0.1:${port}`,
    stateDir,
    async close() {
      await app.close();
      await iam.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface DistributionRegistry {
  readonly baseUrl: string;
  readonly host: string;
  stop(): Promise<void>;
}

/** `docker-registry` binary from Debian's package, or undefined (tests then skip with a message). */
export function findDistributionBinary(): string | undefined {
  for (const candidate of ['/usr/bin/docker-registry', '/usr/local/bin/docker-registry'])
    if (existsSync(candidate)) return candidate;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

/** Starts the CNCF distribution registry on a loopback port with its own storage; stop() kills only that process. */
export async function startDistributionRegistry(): Promise<DistributionRegistry> {
  const binary = findDistributionBinary();
  if (!binary) throw new Error('docker-registry is not installed (apt-get install docker-registry)');
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-distribution-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: error}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'storage')}}, delete: {enabled: true}}`,
      `http: {addr: 127.0.0.1:${port}}`,
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const up = await fetch(`${baseUrl}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (attempt > 300 || child.exitCode !== null) {
      child.kill();
      throw new Error('docker-registry did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseUrl,
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
