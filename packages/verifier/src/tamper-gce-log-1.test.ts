// Tamper suite, real GCE evidence: every byte of the shared COS 85 TCG event log flipped and run through the
// verifier's log step and boot appraisal; each is refused by the rule that owns it, or (for the bytes the
// PFP leaves unmeasured) leaves the appraised boot unchanged. Its own file, as the largest part.
import { describe, it } from 'node:test';
import { verifyBootLog, verifyTpmEvidence } from '@sealroom/attest';
import { toVerifierError } from './appraisal.ts';
import { appraiseBoot } from './boot-appraisal.ts';
import { AT, NONCE, evidence, images, root } from './tamper-gce-sample.ts';
import { Tally, attempt, flipEveryByte } from './tamper-kit.ts';
import { tcgLogRegions } from './tamper-layouts.ts';

describe('tamper suite: real GCE TPM evidence (shared vector), every byte of the event log flipped', () => {
  it('the TCG event log, through the same log step and boot appraisal', (t) => {
    // The quotes are verified once; each flipped log then goes through verifyBootLog, as verifyTpmEvidence
    // runs it, and the boot appraisal. Unmeasured bytes must leave the appraised boot unchanged.
    const verified = verifyTpmEvidence(evidence, { nonce: NONCE, trustedRoots: [root], at: AT });
    const bootOf = (log: Uint8Array) => {
      let boot: ReturnType<typeof verifyBootLog>;
      try {
        boot = verifyBootLog(log, verified.pcrs);
      } catch (error) {
        throw toVerifierError(error);
      }
      const { image, summary } = appraiseBoot(boot.bootState, { images, dev: false, devSwversion: '1' });
      return { image: image.imageReleaseName, summary, grub: boot.bootState.grubCommands };
    };
    const baseline = bootOf(evidence.tcgEventLog!);
    const tally = new Tally();
    const log = evidence.tcgEventLog!;
    flipEveryByte(tally, 'TCG log', log, tcgLogRegions(log), (m) => attempt(() => bootOf(m)), baseline);
    t.diagnostic(tally.summary());
    tally.assertClean();
  });
});
