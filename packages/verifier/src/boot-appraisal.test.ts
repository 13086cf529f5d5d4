// What the boot appraisal keeps between attestations: a summary per kept boot state, a soft image entry per build.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootSoftPlatform, createPlatformCa, verifyTpmEvidence } from '@sealroom/attest';
import type { BootState } from '@sealroom/attest';
import { summarizeBoot } from './boot-appraisal.ts';
import { softImageEntry } from './image-db.ts';

const NOW = Date.UTC(2026, 5, 1);
const LAUNCHER = `sha256:${'1'.repeat(64)}`;

describe('boot appraisal, kept between attestations', () => {
  it('summarizes a kept (frozen) boot state once, and a state that may change on every call', async () => {
    const ca = createPlatformCa(NOW);
    const platform = bootSoftPlatform({
      ca,
      instance: { zone: 'z', projectId: 'p', projectNumber: '1', instanceName: 'vm1', instanceId: '7' },
      launcherBuild: LAUNCHER,
      imageFamily: 'confidential-space',
      nowMs: NOW,
    });
    const nonce = Buffer.alloc(32, 1);
    const { tpm } = await platform.attest(nonce);
    const verified = verifyTpmEvidence(tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) });
    const kept = verified.bootState as BootState;
    assert.ok(Object.isFrozen(kept));
    const summary = summarizeBoot(kept);
    assert.equal(summarizeBoot(kept), summary);
    assert.ok(Object.isFrozen(summary) && Object.isFrozen(summary.secureBoot.db));
    assert.ok(summary.kernelCmdline.startsWith('sealroom.image_family=confidential-space'));

    // A state built by hand is not a key: changed after its first summary, it is summarized again.
    const own = structuredClone(kept) as { -readonly [K in keyof BootState]: BootState[K] };
    const before = summarizeBoot(own);
    assert.deepEqual(before, summary);
    own.kernelCmdline = 'other';
    assert.equal(summarizeBoot(own).kernelCmdline, 'other');
  });

  it('makes a soft image entry once per launcher build and family, frozen', () => {
    const entry = softImageEntry(LAUNCHER, 'confidential-space', '261100', 'soft');
    assert.equal(softImageEntry(LAUNCHER, 'confidential-space', '261100', 'soft'), entry);
    assert.ok(Object.isFrozen(entry) && Object.isFrozen(entry.bootApplications.sha256));
    const debug = softImageEntry(LAUNCHER, 'confidential-space-debug', '261100', 'soft');
    assert.notEqual(debug, entry);
    assert.equal(debug.isHardened, false);
    assert.notEqual(
      softImageEntry(`sha256:${'2'.repeat(64)}`, 'confidential-space', '261100', 'soft').cmdline,
      entry.cmdline,
    );
  });
});
