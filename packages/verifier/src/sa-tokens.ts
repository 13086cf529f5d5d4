// Service-account ID tokens from the instance (→ google_service_accounts): verified with jose against the
// deployment's accounts JWKS, issuer `{baseUrl}/accounts`, audience = the challenge name.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { VerifierError } from './errors.ts';

export interface ServiceAccountTokenVerifierOptions {
  /** `{baseUrl}/accounts`. */
  readonly issuer: string;
  /** Where the keys come from; defaults to `{issuer}/v3/certs` over HTTP. Injectable for tests. */
  readonly keys?: JWTVerifyGetKey;
  /** Current time in ms (the verifier's clock). */
  readonly now: () => number;
}

export type ServiceAccountTokenVerifier = (tokens: readonly string[], audience: string) => Promise<string[]>;

const MAX_TOKENS = 16;

export function createServiceAccountTokenVerifier(
  options: ServiceAccountTokenVerifierOptions,
): ServiceAccountTokenVerifier {
  const keys = options.keys ?? createRemoteJWKSet(new URL(`${options.issuer}/v3/certs`));
  return async (tokens, audience) => {
    if (tokens.length > MAX_TOKENS) {
      throw new VerifierError('ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN', `At most ${MAX_TOKENS} service-account tokens.`);
    }
    const emails: string[] = [];
    for (const [i, token] of tokens.entries()) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience,
          algorithms: ['RS256'],
          currentDate: new Date(options.now()),
          requiredClaims: ['exp', 'iat', 'sub'],
        }));
      } catch (cause) {
        const reason = (cause as { code?: string }).code ?? 'invalid';
        throw new VerifierError(
          'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN',
          `Service-account token ${i} was refused (${reason}).`,
          { cause },
        );
      }
      if (typeof payload.email !== 'string' || payload.email_verified !== true) {
        throw new VerifierError(
          'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN',
          `Service-account token ${i} has no verified email.`,
        );
      }
      if (!emails.includes(payload.email)) emails.push(payload.email);
    }
    return emails;
  };
}
