// Who is calling, and the interfaces every service uses to authenticate, authorize and audit.

export type CallerKind = 'user' | 'serviceAccount' | 'federated';

/** A federated identity from STS: the pool it came through and the attributes its provider mapped. */
export interface FederatedIdentity {
  /** `projects/{number}/locations/global/workloadIdentityPools/{pool}` */
  readonly pool: string;
  /** The mapped `google.subject`. */
  readonly subject: string;
  /** Mapped `attribute.NAME` values, by NAME. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Mapped `google.groups`. */
  readonly groups: readonly string[];
  /** `{pool}/providers/{provider}`: the provider whose exchange issued the token (absent on older tokens). */
  readonly provider?: string;
}

export interface Caller {
  readonly kind: CallerKind;
  /** The IAM member the caller acts as: `user:E`, `serviceAccount:E` or `principal://…/subject/S`. */
  readonly principal: string;
  readonly federation?: FederatedIdentity;
  /** Digest that identifies the credential in audit entries; never the credential itself. */
  readonly credentialId: string;
  /** Expiry of the credential, ms since the epoch. */
  readonly expiresAt: number;
}

export interface Authenticator {
  /** Resolves a bearer token to its caller; throws ERR_UNAUTHENTICATED when it is not valid now. */
  authenticate(bearerToken: string): Promise<Caller>;
}

export interface Authorizer {
  /**
   * Throws PERMISSION_DENIED ("… (or it may not exist).") unless a policy on `resource` or one of its
   * ancestors grants `permission` to the caller. Resource names use project ids or numbers.
   */
  authorize(caller: Caller | undefined, permission: string, resource: string): Promise<void>;
  /** Same decision as authorize, as a boolean. */
  isAllowed(caller: Caller | undefined, permission: string, resource: string): Promise<boolean>;
  /**
   * The same decision, and whether it may be reused until IAM state changes: not when a conditional
   * binding granted it, since a condition may read the time. Without this method, every allow may be reused.
   */
  decide?(caller: Caller | undefined, permission: string, resource: string): Promise<AuthorizerDecision>;
}

export interface AuthorizerDecision {
  readonly allowed: boolean;
  readonly reusable: boolean;
}

export type AuditOutcome = 'ALLOWED' | 'DENIED' | 'FAILED';

export interface AuditRecord {
  /** Project id or number whose audit log receives the entry. */
  readonly project: string;
  /** Google-style method name, e.g. `google.cloud.kms.v1.KeyManagementService.Decrypt`. */
  readonly method: string;
  readonly resource: string;
  readonly caller: Caller | undefined;
  readonly outcome: AuditOutcome;
  /** Status or error code for refusals and failures. */
  readonly status?: string;
  /** Extra facts safe to keep (names, digests, counts); never secrets or plaintext. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditLog {
  record(entry: AuditRecord): Promise<void>;
}

export interface ProjectRef {
  readonly projectId: string;
  readonly projectNumber: string;
}

export interface ProjectResolver {
  /** Finds an active project by id or number. */
  resolve(idOrNumber: string): Promise<ProjectRef | undefined>;
}

export interface AccessTokenRequest {
  readonly kind: CallerKind;
  readonly principal: string;
  readonly federation?: FederatedIdentity;
  readonly lifetimeMs: number;
  readonly scopes?: readonly string[];
}

export interface IssuedAccessToken {
  readonly accessToken: string;
  readonly expiresAt: number;
}

/** Mints bearer tokens that the deployment's Authenticator accepts (STS, IAM credentials). */
export interface AccessTokenIssuer {
  issueAccessToken(request: AccessTokenRequest): Promise<IssuedAccessToken>;
  /**
   * Makes every use of a federated token ask `isActive` about the identity it carries (its pool and
   * provider); a token whose pool or provider is disabled or deleted stops working at once, and
   * works again if they are restored before it expires. Registered by the token service.
   */
  checkFederatedTokensWith?(isActive: (identity: FederatedIdentity) => Promise<boolean>): void;
}
