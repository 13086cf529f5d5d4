// The report channel's two ends over a socket pair: records in order, calls answered, stop orders, a closed host.
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { test } from 'node:test';
import { type LauncherReport, hostChannelOn, launcherChannelOn } from './report-channel.ts';

test('reports arrive in order; a call gets its answer, or the code of the host’s refusal', async () => {
  const [launcherEnd, hostEnd] = duplexPair();
  const reports: LauncherReport[] = [];
  hostChannelOn(hostEnd, {
    onReport: (record) => reports.push(record),
    onCall: async (op, args) => {
      if (op === 'certifyAk') return `cert-for-${String(args.akPublicKey)}`;
      throw Object.assign(new Error('secret detail'), { code: 'ERR_COMPUTE_HOST_DENIED' });
    },
  });
  const channel = launcherChannelOn(launcherEnd);
  channel.report({ t: 'serial', line: 'one' });
  channel.report({ t: 'booted', bootCount: 2, runtime: 'runc', platform: 'soft' });
  assert.equal(await channel.call('certifyAk', { akPublicKey: 'AAAA' }), 'cert-for-AAAA');
  await assert.rejects(channel.call('akChallenge', {}), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_LAUNCHER_HOST_CHANNEL');
    assert.match(error.message, /ERR_COMPUTE_HOST_DENIED/);
    assert.doesNotMatch(error.message, /secret detail/);
    return true;
  });
  channel.report({ t: 'exited', exitCode: 0, holding: false });
  await channel.close();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    reports.map((r) => r.t),
    ['serial', 'booted', 'exited'],
  );
});

test('the host’s stop order reaches the launcher with its hardness, also for a listener added later', async () => {
  const [launcherEnd, hostEnd] = duplexPair();
  const host = hostChannelOn(hostEnd, { onReport: () => {}, onCall: async () => undefined });
  const channel = launcherChannelOn(launcherEnd);
  const first = new Promise<boolean>((resolve) => channel.onStop(resolve));
  host.stop(true);
  assert.equal(await first, true);
  assert.equal(await new Promise<boolean>((resolve) => channel.onStop(resolve)), true);
  host.close();
});

test('a closed host is a stop (not hard), and a pending call fails', async () => {
  const [launcherEnd, hostEnd] = duplexPair();
  const channel = launcherChannelOn(launcherEnd);
  const stopped = new Promise<boolean>((resolve) => channel.onStop(resolve));
  const pending = channel.call('environment', {});
  hostEnd.destroy();
  assert.equal(await stopped, false);
  await assert.rejects(pending, { code: 'ERR_LAUNCHER_HOST_CHANNEL' });
});

test('a malformed line from the launcher closes the channel and is said once', async () => {
  const [launcherEnd, hostEnd] = duplexPair();
  const problems: string[] = [];
  hostChannelOn(hostEnd, {
    onReport: () => {},
    onCall: async () => undefined,
    onProblem: (what) => problems.push(what),
  });
  const closed = new Promise((resolve) => hostEnd.once('close', resolve));
  launcherEnd.write('{"t":"serial","line":"ok"}\nnot json\n');
  await closed;
  assert.deepEqual(problems, ['the launcher wrote a malformed report line']);
});
