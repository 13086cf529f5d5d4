// Keeps the default token file fresh: atomic writes, refresh at 70–90 % of lifetime, backoff with jitter, never giving up.
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, type Logger, claimOf, decodeClaimsPayload } from '@sealroom/core';
import { LauncherError } from './errors.ts';
import type { Timers } from './timers.ts';
import type { TokenSource } from './token-source.ts';

/** The file name the workload reads under /run/container_launcher/ (docs/workload.md, "Inside the instance"). */
export const TOKEN_FILE_NAME = 'attestation_verifier_claims_token';
const TOKEN_TEMP_NAME = '.token.tmp';

export interface BackoffOptions {
  readonly initialMs: number;
  readonly multiplier: number;
  readonly maxMs: number;
  /** ± fraction of the interval (0.5 = ±50 %). */
  readonly jitter: number;
  /**
   * While the token is valid, a retry the backoff would put past `expiry − margin` comes at that time
   * instead; the margin is this, or a tenth of the token's lifetime when that is shorter.
   */
  readonly expiryMarginMs?: number;
  /** Once the token has expired (or is inside the margin), retries come at most this far apart (± jitter). */
  readonly expiredMaxMs?: number;
}

/**
 * Google's launcher: 60 s initial, ×2, ±50 % jitter, at most 1 h between attempts, never giving up, and
 * bounded by the token's expiry: one more attempt a minute before it expires, then every minute (± jitter)
 * until the verifier answers, so a token refreshed at 80 % of its hour is not left expired for an hour.
 */
export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 60_000,
  multiplier: 2,
  maxMs: 3_600_000,
  jitter: 0.5,
  expiryMarginMs: 60_000,
  expiredMaxMs: 60_000,
};

export interface TokenRefresherOptions {
  readonly tokenSource: Pick<TokenSource, 'fetchDefaultToken'>;
  /** The launcher's directory on the host, mounted read-only at /run/container_launcher. */
  readonly directory: string;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  readonly logger: Logger;
  readonly backoff?: BackoffOptions;
}

export interface TokenRefresherStatus {
  readonly refreshes: number;
  readonly consecutiveFailures: number;
  readonly expiresAtMs: number | undefined;
  readonly nextAttemptAtMs: number | undefined;
}

export interface TokenRefresher {
  /** Fetches and writes the first token; a failure is ERR_LAUNCHER_FIRST_TOKEN (the launch fails). */
  start(): Promise<void>;
  stop(): void;
  status(): TokenRefresherStatus;
  /** Resolves when the attempt in flight (if any) has finished; for tests and orderly shutdown. */
  settled(): Promise<void>;
}

/** Reads `exp` (seconds) from a compact JWT without verifying it: the launcher only schedules by it. */
export function readTokenExpiryMs(token: string): number {
  try {
    const exp = claimOf(decodeClaimsPayload(token), 'exp');
    if (typeof exp === 'number' && Number.isFinite(exp)) return exp * 1000;
  } catch {
    // fall through: reported below without the token's content
  }
  throw new LauncherError('ERR_LAUNCHER_TOKEN_INVALID', 'the token source returned a token without a numeric exp');
}

/** Delay before the next refresh: remaining lifetime × (0.7 + 0.2·random). */
export function refreshDelayMs(remainingMs: number, random: number): number {
  return Math.max(0, remainingMs * (0.7 + 0.2 * random));
}

/** Delay after the n-th consecutive failure (n ≥ 1): capped exponential, then ± jitter. */
export function backoffDelayMs(failures: number, random: number, backoff: BackoffOptions = DEFAULT_BACKOFF): number {
  const interval = Math.min(backoff.initialMs * backoff.multiplier ** (failures - 1), backoff.maxMs);
  return withJitter(interval, random, backoff.jitter);
}

export interface TokenValidity {
  readonly nowMs: number;
  /** Expiry of the token in the file. */
  readonly expiresAtMs: number;
  /** Its lifetime (expiry − when it was fetched). */
  readonly lifetimeMs: number;
}

/**
 * Delay after the n-th consecutive failure, bounded by the token in the file: while it is valid the
 * next attempt comes no later than `margin` before it expires, and once it has expired (or is inside the
 * margin) attempts come at most `expiredMaxMs` (± jitter) apart, for as long as the workload runs.
 */
export function retryDelayMs(
  failures: number,
  random: number,
  token: TokenValidity,
  backoff: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const delay = backoffDelayMs(failures, random, backoff);
  const margin = Math.min(backoff.expiryMarginMs ?? 0, token.lifetimeMs / 10);
  const latestBeforeExpiry = token.expiresAtMs - margin - token.nowMs;
  if (latestBeforeExpiry > 0) return Math.min(delay, latestBeforeExpiry);
  const cap = backoff.expiredMaxMs === undefined ? delay : withJitter(backoff.expiredMaxMs, random, backoff.jitter);
  return Math.min(delay, cap);
}

function withJitter(intervalMs: number, random: number, jitter: number): number {
  return Math.max(0, intervalMs * (1 + jitter * (2 * random - 1)));
}

/** Writes the token next to its final name, then renames: the workload never reads a partial file. */
export async function writeTokenFile(directory: string, token: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o755 });
  const temp = join(directory, TOKEN_TEMP_NAME);
  await writeFile(temp, token, { mode: 0o644 });
  await chmod(temp, 0o644);
  await rename(temp, join(directory, TOKEN_FILE_NAME));
}

export function createTokenRefresher(options: TokenRefresherOptions): TokenRefresher {
  const { clock, timers, logger } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  let refreshes = 0;
  let failures = 0;
  let expiresAtMs: number | undefined;
  let lifetimeMs = 0;
  let expiryLogged = false;
  let nextAttemptAtMs: number | undefined;
  let handle: ReturnType<Timers['setTimeout']> | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let stopped = false;

  const fetchAndWrite = async (): Promise<void> => {
    const token = await options.tokenSource.fetchDefaultToken();
    const expiry = readTokenExpiryMs(token);
    if (expiry <= clock.now()) {
      throw new LauncherError('ERR_LAUNCHER_TOKEN_INVALID', 'the token source returned an expired token');
    }
    await writeTokenFile(options.directory, token);
    lifetimeMs = expiry - clock.now();
    expiresAtMs = expiry;
    expiryLogged = false;
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    nextAttemptAtMs = clock.now() + delayMs;
    handle = timers.setTimeout(() => {
      handle = undefined;
      inFlight = attempt();
    }, delayMs);
  };

  const attempt = async (): Promise<void> => {
    try {
      await fetchAndWrite();
      refreshes += 1;
      failures = 0;
      logger.info({ expiresAtMs, refreshes }, 'attestation token refreshed');
      schedule(refreshDelayMs((expiresAtMs ?? clock.now()) - clock.now(), options.random()));
    } catch (error) {
      failures += 1;
      const now = clock.now();
      const delay = retryDelayMs(
        failures,
        options.random(),
        { nowMs: now, expiresAtMs: expiresAtMs ?? now, lifetimeMs },
        backoff,
      );
      logger.warn({ error, failures, retryInMs: Math.round(delay) }, 'attestation token refresh failed; backing off');
      if (expiresAtMs !== undefined && expiresAtMs <= now && !expiryLogged) {
        expiryLogged = true;
        logger.error({ expiresAtMs, failures }, 'the attestation token in the file has expired; still retrying');
      }
      schedule(delay);
    }
  };

  return {
    start: async () => {
      try {
        await fetchAndWrite();
      } catch (cause) {
        throw new LauncherError('ERR_LAUNCHER_FIRST_TOKEN', 'failed to obtain the first attestation token', { cause });
      }
      logger.info({ expiresAtMs }, 'attestation token written');
      schedule(refreshDelayMs((expiresAtMs ?? clock.now()) - clock.now(), options.random()));
    },
    stop: () => {
      stopped = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      handle = undefined;
      nextAttemptAtMs = undefined;
    },
    status: () => ({ refreshes, consecutiveFailures: failures, expiresAtMs, nextAttemptAtMs }),
    settled: () => inFlight,
  };
}
