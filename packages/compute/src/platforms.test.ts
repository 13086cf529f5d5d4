// Which platform instances boot on, and the soft platform refused outside dev mode.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createPlatformCa } from '@sealroom/attest';
import { imitateConfigfsTsm } from '@sealroom/attest/testing';
import { createFakeClock, createMemoryLogger } from '@sealroom/core';
import { createOutboundClient } from '@sealroom/outbound';
import { loadComputeConfig } from './config.ts';
import { createEmbeddedHostAgent } from './embedded-agent.ts';
import type { InstanceEvents } from './host-agent.ts';
import { bootPlatform, resolvePlatform } from './platforms.ts';
import { testBootRequest } from './testing.ts';

test('auto picks tpm for a simulator address or a usable device, soft otherwise; an explicit choice stands', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-platforms-'));
  try {
    const device = join(dir, 'tpmrm0');
    writeFileSync(device, '');
    // No configfs-tsm on this "machine".
    const none = { tsmReport: join(dir, 'no-tsm', 'report'), tdxMeasurements: join(dir, 'no-tdx') };
    assert.equal(await resolvePlatform('auto', { address: 'tcp://127.0.0.1:2321' }, none), 'tpm');
    assert.equal(await resolvePlatform('auto', { address: 'unix:/run/swtpm.sock' }, none), 'tpm');
    assert.equal(await resolvePlatform('auto', { address: device }, none), 'tpm');
    assert.equal(await resolvePlatform('auto', { address: join(dir, 'missing') }, none), 'soft');
    assert.equal(await resolvePlatform('soft', { address: device }, none), 'soft');
    assert.equal(await resolvePlatform('tpm', { address: join(dir, 'missing') }, none), 'tpm');
    assert.equal(await resolvePlatform('tdx', { address: device }, none), 'tdx');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auto picks sev-snp or tdx from the provider configfs-tsm reports, and boots that platform', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-platforms-'));
  try {
    const ca = createPlatformCa(Date.UTC(2026, 5, 1));
    const instance = { zone: 'us-central1-a', projectId: 'p', projectNumber: '1', instanceName: 'vm', instanceId: '9' };
    for (const [provider, kind] of [
      ['sev_guest', 'sev-snp'],
      ['tdx_guest', 'tdx'],
    ] as const) {
      const tsm = imitateConfigfsTsm({ dir: join(dir, provider), provider, outblob: () => Buffer.alloc(1184, 1) });
      const hardware = { tsmReport: tsm.reportRoot, tdxMeasurements: tsm.measurementsRoot, fs: tsm.fs };
      // A usable TPM device is there too: the TEE's own interface wins.
      assert.equal(await resolvePlatform('auto', { address: 'tcp://127.0.0.1:2321' }, hardware), kind);
      const booted = await bootPlatform({
        kind,
        tpm: { address: '/dev/tpmrm0' },
        hardware,
        ca,
        instance,
        launcherBuild: `sha256:${'1'.repeat(64)}`,
        imageFamily: 'confidential-space',
        nowMs: Date.UTC(2026, 5, 1),
      });
      assert.equal(booted.platform.kind, kind);
      assert.match(booted.description, new RegExp(`the ${kind} platform`));
      const evidence = await booted.platform.attest(Buffer.alloc(32));
      assert.equal(evidence.kind, kind);
      await booted.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the configuration reads SEALROOM_COMPUTE_* and refuses an unknown platform', () => {
  const config = loadComputeConfig({ SEALROOM_COMPUTE_PLATFORM: 'tpm', SEALROOM_COMPUTE_TPM: 'tcp://127.0.0.1:2321' });
  assert.equal(config.platform, 'tpm');
  assert.equal(config.tpm, 'tcp://127.0.0.1:2321');
  assert.equal(loadComputeConfig({}).platform, 'auto');
  assert.equal(loadComputeConfig({}).tpm, '/dev/tpmrm0');
  assert.throws(() => loadComputeConfig({ SEALROOM_COMPUTE_PLATFORM: 'hardware' }), /SEALROOM_COMPUTE_PLATFORM/);
});

test('outside dev mode an instance does not boot on the soft platform: exit 1, the reason on the serial console', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-platforms-'));
  const serial: string[] = [];
  const events: InstanceEvents = {
    status: () => {},
    serial: (line) => serial.push(line),
    workloadLog: () => {},
    booted: () => assert.fail('booted on the soft platform'),
    exited: () => {},
  };
  const clock = createFakeClock(Date.UTC(2026, 5, 1));
  const ca = createPlatformCa(clock.now());
  const agent = createEmbeddedHostAgent({
    dir,
    baseUrl: 'http://127.0.0.1:1',
    universeDomain: 'googleapis.com',
    outbound: createOutboundClient({}),
    platformCa: () => ca,
    launcherBuild: `sha256:${'1'.repeat(64)}`,
    credentials: { accessToken: async () => 'unused', idToken: async () => 'unused' },
    clock,
    logger: createMemoryLogger(),
    runtimes: ['process'],
    maxBoots: 1,
    platform: 'soft',
    refuseSoft: true,
  });
  try {
    let off = false;
    agent.powerOn(testBootRequest(), { ...events, status: (status) => void (status === 'TERMINATED' && (off = true)) });
    for (let i = 0; i < 200 && !off; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(off, serial.join('\n'));
    assert.ok(
      serial.some((l) => /refusing to boot on the soft platform/.test(l)),
      serial.join('\n'),
    );
  } finally {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
