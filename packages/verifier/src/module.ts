// The verifier as a ServiceFactory: wires config, trusted roots, store, keys and routes.
import { join } from 'node:path';
import { loadOrCreatePlatformCa } from '@sealroom/attest';
import type { ServiceContext, ServiceFactory, ServiceModule } from '@sealroom/transport';
import type { JWTVerifyGetKey } from 'jose';
import type { TrustedRoot } from './appraisal.ts';
import { loadCollateral } from './collateral-store.ts';
import { loadVerifierConfig, pemToDer, toImageEntry } from './config.ts';
import type { VerifierConfig } from './config.ts';
import { verifierRoutes } from './http.ts';
import { createImageDatabase } from './image-db.ts';
import { createServiceAccountTokenVerifier } from './sa-tokens.ts';
import { createVerifier } from './service.ts';
import type { Verifier } from './service.ts';
import { createKeyRing } from './signing-keys.ts';
import { createSqlVerifierStore } from './store.ts';

export interface VerifierServiceOptions {
  readonly config?: VerifierConfig;
  /** DER of the soft platform CA to trust in dev mode; defaults to the one in the state directory. */
  readonly softPlatformCa?: Uint8Array;
  /** Keys for service-account ID tokens; defaults to the deployment's `{baseUrl}/accounts/v3/certs`. */
  readonly serviceAccountKeys?: JWTVerifyGetKey;
}

/**
 * The verifier service of `sealroom serve`: challenges, `:verifyConfidentialSpace`, OIDC discovery and
 * JWKS, with its token-signing keys sealed in the deployment's state. `verifier` is the domain object.
 *
 * @example
 * ```ts
 * const module = await createVerifierModule(ctx, { config: parseVerifierConfig({}) });
 * const app = await buildRestApp({ routes: module.routes, authenticator: ctx.authenticator, logger: ctx.logger });
 * ```
 */
export async function createVerifierModule(
  context: ServiceContext,
  options: VerifierServiceOptions = {},
): Promise<ServiceModule & { verifier: Verifier }> {
  const config = options.config ?? loadVerifierConfig();
  const { settings, clock, logger } = context;
  const issuer = (config.issuer ?? settings.baseUrl).replace(/\/$/, '');
  const roots: TrustedRoot[] = config.trustedRoots.map((r) => ({
    certificate: pemToDer(r.certificatePem),
    hwmodel: r.hwmodel,
  }));
  if (settings.dev) {
    const softCa =
      options.softPlatformCa ??
      loadOrCreatePlatformCa({ dir: settings.stateDir, sealer: context.sealer, nowMs: clock.now() }).certificate;
    roots.push({ certificate: softCa, hwmodel: 'SOFTWARE', dev: true });
    logger.warn({ issuer }, 'DEV MODE: the verifier trusts the soft platform CA; its tokens say hwmodel SOFTWARE');
  }
  const store = await createSqlVerifierStore(context.db);
  const keys = createKeyRing({
    store,
    sealer: context.sealer,
    clock,
    rotationMs: config.keyRotationSeconds * 1000,
    tokenTtlMs: config.tokenTtlSeconds * 1000,
    // Replicas share the keys: one of them at a time makes the next one.
    leases: context.leases,
  });
  const verifier = createVerifier({
    store,
    keys,
    config,
    issuer,
    roots,
    intermediates: config.intermediates.map(pemToDer),
    images: createImageDatabase(config.images.map(toImageEntry)),
    // Read per appraisal, so an import or fetch is seen without a restart; nothing here goes to the network.
    collateral: () => loadCollateral(config.collateralDir ?? join(settings.stateDir, 'collateral')),
    verifyServiceAccountTokens: createServiceAccountTokenVerifier({
      issuer: `${settings.baseUrl}/accounts`,
      now: () => clock.now(),
      ...(options.serviceAccountKeys === undefined ? {} : { keys: options.serviceAccountKeys }),
    }),
    context,
    clock,
    logger,
  });
  return { name: 'verifier', routes: verifierRoutes(verifier), verifier };
}

export const createVerifierService: ServiceFactory = async (context) => createVerifierModule(context);
