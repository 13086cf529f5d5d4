// The error base every Sealroom package extends: a stable code, a canonical status and retryability.

/** Google's canonical status names (google.rpc.Code), the vocabulary every transport maps from. */
export type CanonicalStatus =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

/** HTTP status for each canonical status, as google.rpc.Code documents it. */
export const HTTP_STATUS_OF: Readonly<Record<CanonicalStatus, number>> = {
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** gRPC status number for each canonical status. */
export const GRPC_CODE_OF: Readonly<Record<CanonicalStatus, number>> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** What a package says about one of its error codes; the source of docs/errors.md. */
export interface ErrorSpec {
  readonly status: CanonicalStatus;
  readonly retryable: boolean;
  readonly description: string;
}

export type ErrorCatalog<C extends string> = Readonly<Record<C, ErrorSpec>>;

export interface SealroomErrorOptions {
  readonly cause?: unknown;
  /** Overrides the catalogue's HTTP status where an API documents another one (e.g. 413). */
  readonly httpStatus?: number;
}

/**
 * Base class of every error Sealroom raises on purpose. Messages are shown to callers: they never
 * contain a token, key, plaintext or evidence bytes.
 */
export class SealroomError<C extends string = string> extends Error {
  readonly code: C;
  readonly status: CanonicalStatus;
  readonly retryable: boolean;
  readonly httpStatus: number;

  constructor(catalog: ErrorCatalog<C>, code: C, message: string, options: SealroomErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const spec = catalog[code];
    this.name = new.target.name;
    this.code = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.httpStatus = options.httpStatus ?? HTTP_STATUS_OF[spec.status];
  }
}

export function isSealroomError(value: unknown): value is SealroomError {
  return value instanceof SealroomError;
}

/** Codes shared by every API: request shape, identity, existence, concurrency. */
export const CORE_ERRORS = {
  ERR_INVALID_ARGUMENT: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A request field, name or value is malformed or out of range; the message names it.',
  },
  ERR_BAD_REQUEST_BODY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The request body is not valid JSON or form data, or has fields the method does not accept.',
  },
  ERR_PAYLOAD_TOO_LARGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'The request body is larger than the method accepts.',
  },
  ERR_INVALID_RESOURCE_NAME: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A resource name does not match the pattern the method expects.',
  },
  ERR_UNAUTHENTICATED: {
    status: 'UNAUTHENTICATED',
    retryable: false,
    description: 'The bearer token is missing, malformed, expired, revoked or forged.',
  },
  ERR_PERMISSION_DENIED: {
    status: 'PERMISSION_DENIED',
    retryable: false,
    description: 'The caller lacks the permission on the resource, or the resource does not exist.',
  },
  ERR_NOT_FOUND: {
    status: 'NOT_FOUND',
    retryable: false,
    description: 'The resource does not exist (shown only to callers allowed to know).',
  },
  ERR_ALREADY_EXISTS: {
    status: 'ALREADY_EXISTS',
    retryable: false,
    description: 'A resource with that name already exists.',
  },
  ERR_FAILED_PRECONDITION: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The resource is not in a state that allows the operation (disabled, destroyed, deleted).',
  },
  ERR_ABORTED: {
    status: 'ABORTED',
    retryable: true,
    description: 'A concurrent change won (stale etag); re-read and retry the read-modify-write.',
  },
  ERR_RESOURCE_EXHAUSTED: {
    status: 'RESOURCE_EXHAUSTED',
    retryable: true,
    description: 'A quota or limit was reached.',
  },
  ERR_UNIMPLEMENTED: {
    status: 'UNIMPLEMENTED',
    retryable: false,
    description: 'The method or option exists in the Google API but Sealroom does not offer it.',
  },
  ERR_UNAVAILABLE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description: 'The service is starting, shutting down or a dependency is unreachable.',
  },
  ERR_STORAGE_FULL: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The server’s storage is full; nothing of the request was written. Retry once the operator has freed space (/readyz says when).',
  },
  ERR_STORAGE_UNWRITABLE: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The server’s storage cannot be written (read-only or failing with I/O errors); nothing of the request was written. Retry once the operator has repaired it (/readyz says when).',
  },
  ERR_INTERNAL: {
    status: 'INTERNAL',
    retryable: true,
    description: 'An unexpected failure; details are in the server log, never in the response.',
  },
  ERR_CONFIG: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The configuration (file, flags or SEALROOM_* environment) is invalid; the message names the key.',
  },
  ERR_PORT_IN_USE: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description:
      'A port the server should listen on is held by another program; the message names the flag and the SEALROOM_* variable that choose another (`0` picks a free one).',
  },
  ERR_SEALED_DATA: {
    status: 'DATA_LOSS',
    retryable: false,
    description: 'Sealed data could not be opened: wrong root key, or the stored bytes were altered.',
  },
  ERR_WRONG_ROOT_KEY: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The root key is not the one this state directory was sealed with; the server refuses to start.',
  },
} as const satisfies ErrorCatalog<string>;

export type CoreErrorCode = keyof typeof CORE_ERRORS;

/** The error class for the codes of CORE_ERRORS. */
export class CoreError extends SealroomError<CoreErrorCode> {
  constructor(code: CoreErrorCode, message: string, options?: SealroomErrorOptions) {
    super(CORE_ERRORS, code, message, options);
  }
}

/** The message Google APIs give for a denied or missing resource; identical for both. */
export function permissionDenied(permission: string, resource: string): CoreError {
  return new CoreError(
    'ERR_PERMISSION_DENIED',
    `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`,
  );
}

export function invalidArgument(message: string): CoreError {
  return new CoreError('ERR_INVALID_ARGUMENT', message);
}

export function notFound(message: string): CoreError {
  return new CoreError('ERR_NOT_FOUND', message);
}
