// A registry on a loopback port over an in-memory IAM, for this package's tests and the builder's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIamTestContext, type IamTestContext } from '@sealroom/iam';
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
