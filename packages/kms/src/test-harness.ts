// A KMS over the real iam layer, served by the REST adapter on loopback: for wire tests and the benchmark.
import type { AddressInfo } from 'node:net';
import { createIamTestContext, type IamTestContext } from '@sealroom/iam';
import { type ApiRoute, buildRestApp } from '@sealroom/transport';
import { createKmsService } from './module.ts';

export interface KmsHarness {
  readonly t: IamTestContext;
  readonly app: Awaited<ReturnType<typeof buildRestApp>>;
  readonly port: number;
  readonly module: Awaited<ReturnType<typeof createKmsService>>;
  /** A user who owns `proj-a` (administers keys but, by design, cannot use them without a grant). */
  readonly owner: { accessToken: string; email: string };
  close(): Promise<void>;
}

export async function startKmsHarness(
  options: { listen?: boolean; extraRoutes?: ApiRoute[] } = {},
): Promise<KmsHarness> {
  const t = await createIamTestContext();
  const email = 'owner@example.com';
  const owner = await t.createUser(email);
  await t.createProject('proj-a', email);
  const module = await createKmsService(t.context);
  const app = await buildRestApp({
    routes: [...module.routes, ...(options.extraRoutes ?? [])],
    authenticator: t.context.authenticator,
    logger: t.logger,
    logRequests: 'errors',
  });
  let port = 0;
  if (options.listen !== false) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  }
  return {
    t,
    app,
    port,
    module,
    owner: { accessToken: owner.accessToken, email },
    async close() {
      await app.close();
      await module.stop?.();
      await t.close();
    },
  };
}
