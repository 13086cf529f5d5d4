// Names of pools and providers, and the STS audiences that point at a provider.

/** Pool and provider ids: 4-32 of [a-z0-9-], not starting or ending with '-'; `gcp-` is reserved. */
export const RESOURCE_ID = /^[a-z0-9][a-z0-9-]{2,30}[a-z0-9]$/;

export interface PoolName {
  readonly projectNumber: string;
  readonly poolId: string;
}

export interface ProviderName extends PoolName {
  readonly providerId: string;
}

export function formatPoolName(name: PoolName): string {
  return `projects/${name.projectNumber}/locations/global/workloadIdentityPools/${name.poolId}`;
}

export function formatProviderName(name: ProviderName): string {
  return `${formatPoolName(name)}/providers/${name.providerId}`;
}

/** The audience a token must carry when `allowedAudiences` is empty, in both accepted spellings. */
export function providerAudiences(name: ProviderName, universeDomain: string): string[] {
  const path = `iam.${universeDomain}/${formatProviderName(name)}`;
  return [`//${path}`, `https://${path}`];
}

export function principalOf(pool: PoolName, subject: string, universeDomain: string): string {
  return `principal://iam.${universeDomain}/${formatPoolName(pool)}/subject/${subject}`;
}

const AUDIENCE =
  /^(?:\/\/|https:\/\/)iam\.([^/]+)\/projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;

/** Reads `//iam.<universe>/projects/P/locations/global/workloadIdentityPools/X/providers/Y`; P may be an id. */
export function parseAudience(
  audience: string,
): { universeDomain: string; project: string; poolId: string; providerId: string } | undefined {
  const match = AUDIENCE.exec(audience);
  if (!match) return undefined;
  const [, universeDomain, project, poolId, providerId] = match as unknown as [string, string, string, string, string];
  return { universeDomain, project, poolId, providerId };
}

/** Issuer URIs compare without a trailing slash (guides register `https://…/`, tokens say `https://…`). */
export function normaliseIssuer(issuer: string): string {
  return issuer.replace(/\/+$/, '');
}
