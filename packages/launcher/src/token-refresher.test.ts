// The token refresher with a fake token source, fake clock and fake timers: schedule, atomic file, backoff, recovery.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createFakeClock, createMemoryLogger, toBase64Url } from '@sealroom/core';
import { LauncherError } from './errors.ts';
import { createFakeTimers } from './timers.ts';
import {
  DEFAULT_BACKOFF,
  TOKEN_FILE_NAME,
  backoffDelayMs,
  createTokenRefresher,
  readTokenExpiryMs,
  refreshDelayMs,
  retryDelayMs,
} from './token-refresher.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const jwt = (expSeconds: number, serial: number) =>
  `${toBase64Url(Buffer.from('{"alg":"RS256"}'))}.${toBase64Url(Buffer.from(JSON.stringify({ exp: expSeconds, serial })))}.sig`;

function setup(random = () => 0.5) {
  const clock = createFakeClock(Date.UTC(2026, 0, 1));
  const timers = createFakeTimers(clock);
  const directory = join(mkdtempSync(join(tmpdir(), 'sr-tok-')), 'container_launcher');
  dirs.push(directory);
  let serial = 0;
  let down = false;
  const lifetimeMs = 3_600_000;
  const source = {
    calls: 0,
    fetchDefaultToken: async () => {
      source.calls += 1;
      if (down) throw new Error('verifier unavailable');
      serial += 1;
      return jwt((clock.now() + lifetimeMs) / 1000, serial);
    },
  };
  const logger = createMemoryLogger();
  const refresher = createTokenRefresher({ tokenSource: source, directory, clock, timers, random, logger });
  const read = () => readFileSync(join(directory, TOKEN_FILE_NAME), 'utf8');
  const setDown = (value: boolean) => {
    down = value;
  };
  return { clock, timers, directory, source, refresher, read, setDown, logger, lifetimeMs };
}

test('the first token is written with mode 0644 in a 0755 directory, and no temp file is left', async () => {
  const { refresher, directory, read } = setup();
  await refresher.start();
  assert.equal(readTokenExpiryMs(read()), Date.UTC(2026, 0, 1) + 3_600_000);
  assert.equal(statSync(join(directory, TOKEN_FILE_NAME)).mode & 0o777, 0o644);
  assert.equal(statSync(directory).mode & 0o777, 0o755);
  assert.deepEqual(readdirSync(directory), [TOKEN_FILE_NAME]);
  refresher.stop();
});

test('a first token that fails is ERR_LAUNCHER_FIRST_TOKEN and nothing is scheduled', async () => {
  const { refresher, setDown, timers } = setup();
  setDown(true);
  await assert.rejects(
    refresher.start(),
    (e: unknown) => e instanceof LauncherError && e.code === 'ERR_LAUNCHER_FIRST_TOKEN',
  );
  assert.deepEqual(timers.pending(), []);
});

test('the refresh is scheduled between 70 % and 90 % of the lifetime and replaces the file before expiry', async () => {
  for (const [random, fraction] of [
    [0, 0.7],
    [0.999, 0.8998],
  ] as const) {
    const { refresher, timers, clock, read, lifetimeMs } = setup(() => random);
    await refresher.start();
    const first = read();
    const due = timers.pending()[0]! - clock.now();
    assert.ok(Math.abs(due - lifetimeMs * fraction) < 1000, `due after ${due} ms`);
    timers.advance(due);
    await refresher.settled();
    assert.notEqual(read(), first);
    assert.ok(readTokenExpiryMs(first) > clock.now(), 'the old token had not expired yet');
    refresher.stop();
  }
});

test('with the verifier down it backs off exponentially, never gives up, and recovers when it returns', async () => {
  const { refresher, timers, clock, read, setDown, source, logger } = setup();
  await refresher.start();
  const first = read();
  setDown(true);
  timers.advance(timers.pending()[0]! - clock.now());
  await refresher.settled();
  const delays: number[] = [];
  for (let i = 0; i < 8; i += 1) {
    const delay = timers.pending()[0]! - clock.now();
    delays.push(delay);
    timers.advance(delay);
    await refresher.settled();
  }
  // random = 0.5 means no jitter. Refreshed at 80 % of the hour, the token has 12 min left: 60 s, 120 s,
  // 240 s, then 240 s instead of 480 s (one minute before expiry), then a minute apart once expired.
  assert.deepEqual(delays, [60_000, 120_000, 240_000, 240_000, 60_000, 60_000, 60_000, 60_000]);
  assert.equal(refresher.status().consecutiveFailures, 9);
  assert.equal(read(), first, 'the last good token stays in place');
  setDown(false);
  const callsBefore = source.calls;
  timers.advance(timers.pending()[0]! - clock.now());
  await refresher.settled();
  assert.equal(source.calls, callsBefore + 1);
  assert.notEqual(read(), first);
  assert.equal(refresher.status().consecutiveFailures, 0);
  assert.ok(
    logger.entries.every((e) => !JSON.stringify(e).includes(first)),
    'no token in the log',
  );
  refresher.stop();
});

test('a token without exp counts as a failed refresh', async () => {
  const clock = createFakeClock();
  const timers = createFakeTimers(clock);
  const directory = mkdtempSync(join(tmpdir(), 'sr-tok-'));
  dirs.push(directory);
  const refresher = createTokenRefresher({
    tokenSource: { fetchDefaultToken: async () => 'a.b.c' },
    directory,
    clock,
    timers,
    random: () => 0.5,
    logger: createMemoryLogger(),
  });
  await assert.rejects(refresher.start(), /first attestation token/);
});

test('stop cancels the pending refresh', async () => {
  const { refresher, timers } = setup();
  await refresher.start();
  refresher.stop();
  assert.deepEqual(timers.pending(), []);
});

test('backoff jitter stays within ±50 % and refresh within 70–90 %', () => {
  for (const r of [0, 0.25, 0.5, 0.75, 0.9999]) {
    const b = backoffDelayMs(3, r);
    assert.ok(b >= 120_000 && b <= 360_000, String(b));
    const f = refreshDelayMs(1000, r);
    assert.ok(f >= 700 && f <= 900, String(f));
  }
});

test('with the verifier down for hours, a retry comes before the token expires, then at most 90 s apart, and the first answer refreshes it', async () => {
  const randoms = [0.999, 0, 0.5, 0.75, 0.25];
  let draw = 0;
  const { refresher, timers, clock, read, setDown, source, logger, lifetimeMs } = setup(
    () => randoms[draw++ % randoms.length] as number,
  );
  await refresher.start();
  const expiresAt = readTokenExpiryMs(read());
  setDown(true);
  const attempts: number[] = [];
  // Bounded: three hours of outage at one attempt a minute or more is under 200 attempts.
  for (let i = 0; i < 400 && clock.now() < expiresAt + 3 * 3_600_000; i++) {
    timers.advance(timers.pending()[0]! - clock.now());
    await refresher.settled();
    attempts.push(clock.now());
  }
  assert.equal(source.calls, attempts.length + 1);
  const margin = Math.min(DEFAULT_BACKOFF.expiryMarginMs ?? 0, lifetimeMs / 10);
  assert.ok(
    attempts.some((at) => at >= expiresAt - margin && at < expiresAt),
    'one attempt in the minute before expiry',
  );
  const after = attempts.filter((at) => at >= expiresAt);
  assert.ok(after.length > 100, `${after.length} attempts after expiry`);
  for (let i = 1; i < after.length; i++) {
    const gap = (after[i] as number) - (after[i - 1] as number);
    assert.ok(gap >= 30_000 && gap <= 90_000, `gap of ${gap} ms after expiry`);
  }
  assert.equal(logger.entries.filter((e) => /has expired/.test(e.message)).length, 1, 'said once');
  setDown(false);
  timers.advance(timers.pending()[0]! - clock.now());
  await refresher.settled();
  assert.ok(readTokenExpiryMs(read()) > clock.now(), 'a valid token again within a minute and a half');
  assert.equal(refresher.status().consecutiveFailures, 0);
  refresher.stop();
});

test('the retry delay is the backoff, pulled forward to the margin before expiry, and capped once expired', () => {
  const hour = 3_600_000;
  const at = (nowMs: number) => ({ nowMs, expiresAtMs: hour, lifetimeMs: hour });
  const cases: [string, number, number, number][] = [
    // [what, failures, now, expected delay] with random 0.5 (no jitter)
    ['far from expiry: the plain backoff', 1, 0, 60_000],
    ['far from expiry, later failures', 6, 0, 1_920_000],
    ['backoff past the margin: pulled forward', 4, hour - 300_000, 240_000],
    ['inside the margin: the expired cap', 4, hour - 30_000, 60_000],
    ['expired: the cap, not the hour of the backoff', 12, hour + 600_000, 60_000],
    ['expired, first failures: the backoff when shorter', 1, hour + 1, 60_000],
  ];
  for (const [what, failures, now, expected] of cases) {
    assert.equal(retryDelayMs(failures, 0.5, at(now)), expected, what);
  }
  const shortLived = { nowMs: 0, expiresAtMs: 100_000, lifetimeMs: 100_000 };
  assert.equal(retryDelayMs(1, 0.5, shortLived), 60_000, 'a tenth of a short lifetime is the margin');
  assert.equal(retryDelayMs(2, 0.5, shortLived), 90_000);
  const { expiryMarginMs: _margin, expiredMaxMs: _cap, ...noBound } = DEFAULT_BACKOFF;
  assert.equal(retryDelayMs(7, 0.5, at(hour * 2), noBound), hour, 'without the bounds: the plain backoff');
});
