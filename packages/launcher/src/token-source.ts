// Where the launcher's tokens come from: a seam the verifier client (and tests' fakes) implement.
import type { LaunchSpec } from './launch-spec.ts';
import type { ImageIdentity } from './measure.ts';

/** `token_type` values Sealroom's verifier signs: OIDC (JWKS-verified) or PKI (x5c in the header). */
export type TokenType = 'OIDC' | 'PKI';
export const TOKEN_TYPES: readonly TokenType[] = ['OIDC', 'PKI'];

export interface CustomTokenRequest {
  readonly audience: string;
  readonly nonces: readonly string[];
  readonly tokenType: TokenType;
}

/**
 * Obtains attestation tokens for this boot: each call runs a fresh attestation (challenge, quote,
 * event log, service-account ID tokens, image signatures) against the verifier.
 */
export interface TokenSource {
  /** A fresh default token (OIDC, audience `https://sts.<universe>`), as a compact JWT. */
  fetchDefaultToken(): Promise<string>;
  /** A token with the workload's own audience and nonces. */
  fetchCustomToken(request: CustomTokenRequest): Promise<string>;
}

/** What the verifier client needs to know about this boot's launch before it can attest. */
export interface TokenSourceContext {
  readonly spec: LaunchSpec;
  readonly image: ImageIdentity;
  /** The image config blob, when the image declares an output policy the token must carry. */
  readonly imageConfig?: Uint8Array;
}

/**
 * Builds the boot's token source once the spec is parsed and the image digest pinned: signature
 * discovery needs `spec.signedImageRepos` and the digest, ID tokens `spec.impersonateServiceAccounts`.
 */
export type TokenSourceFactory = (context: TokenSourceContext) => TokenSource;
