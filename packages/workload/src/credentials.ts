// `external_account` credentials for one collaborator: the attestation token exchanged at that collaborator's STS.
import { WorkloadError } from './errors.ts';
import { resolveLauncherPaths } from './paths.ts';

export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export interface ExternalAccountOptions {
  /** The provider's full name, `//iam.<universe>/projects/N/locations/global/workloadIdentityPools/P/providers/V`. */
  readonly audience: string;
  /** The collaborator's STS, e.g. `https://sealroom.collab1.example/v1/token`. */
  readonly tokenUrl: string;
  /** Impersonate this service account after the exchange (`…/serviceAccounts/EMAIL:generateAccessToken`). */
  readonly impersonationUrl?: string;
  /** Defaults to the launcher's token file. */
  readonly tokenFile?: string;
  readonly universeDomain?: string;
}

/** The `external_account` JSON google-auth-library reads, as Confidential Space samples write it. */
export interface ExternalAccountCredentials {
  readonly type: 'external_account';
  readonly audience: string;
  readonly subject_token_type: string;
  readonly token_url: string;
  /** Token introspection, which `gcloud auth login --cred-file` calls to name the account it signed in. */
  readonly token_info_url?: string;
  readonly credential_source: { readonly file: string };
  readonly service_account_impersonation_url?: string;
  readonly universe_domain?: string;
}

/**
 * The credential one collaborator's identity needs: google-auth-library reads the launcher's token file,
 * exchanges it at `tokenUrl` for the provider `audience`, and optionally impersonates a service account.
 *
 * @example
 * ```ts
 * const credentials = buildExternalAccountCredentials({
 *   audience: '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/verifier',
 *   tokenUrl: tokenUrlFor('https://sealroom.collab1.example'),
 * });
 * const authClient = createExternalAccountClient(credentials); // or write it out for GOOGLE_APPLICATION_CREDENTIALS
 * ```
 */
export function buildExternalAccountCredentials(options: ExternalAccountOptions): ExternalAccountCredentials {
  if (!options.audience.startsWith('//')) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', `audience "${options.audience}" is not a provider's full name`);
  }
  checkHttpUrl(options.tokenUrl, 'tokenUrl');
  if (options.impersonationUrl !== undefined) {
    checkHttpUrl(options.impersonationUrl, 'impersonationUrl');
    if (!/\/serviceAccounts\/[^:/]+:generateAccessToken$/.test(options.impersonationUrl)) {
      throw new WorkloadError(
        'ERR_WORKLOAD_BAD_CONFIG',
        'impersonationUrl must end with /serviceAccounts/EMAIL:generateAccessToken',
      );
    }
  }
  return {
    type: 'external_account',
    audience: options.audience,
    subject_token_type: JWT_TOKEN_TYPE,
    token_url: options.tokenUrl,
    ...(/\/v1\/token$/.test(options.tokenUrl)
      ? { token_info_url: options.tokenUrl.replace(/token$/, 'introspect') }
      : {}),
    credential_source: { file: options.tokenFile ?? resolveLauncherPaths().tokenFile },
    ...(options.impersonationUrl === undefined ? {} : { service_account_impersonation_url: options.impersonationUrl }),
    ...(options.universeDomain === undefined ? {} : { universe_domain: options.universeDomain }),
  };
}

/** `{base}/v1/projects/-/serviceAccounts/{email}:generateAccessToken` on a Sealroom deployment. */
export function impersonationUrlFor(baseUrl: string, serviceAccountEmail: string): string {
  return `${trimSlash(baseUrl)}/v1/projects/-/serviceAccounts/${serviceAccountEmail}:generateAccessToken`;
}

/** `{base}/v1/token`: the STS of a Sealroom deployment (its introspection endpoint is `{base}/v1/introspect`). */
export function tokenUrlFor(baseUrl: string): string {
  return `${trimSlash(baseUrl)}/v1/token`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function checkHttpUrl(value: string, field: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', `${field} is not a URL`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new WorkloadError('ERR_WORKLOAD_BAD_CONFIG', `${field} must be an http(s) URL`);
  }
}
