// Tamper suite, real GCE evidence: every byte of the shared COS 85 TCG event log flipped and run through the
// verifier's log step and boot appraisal; each is refused by the rule that owns it, or (for the bytes the
// PFP leaves unmeasured) leaves the appraised boot unchanged. The largest part: its first half here.
import { describe, it } from 'node:test';
import { LOG_HALF, tamperLog } from './tamper-gce-sample.ts';

describe('tamper suite: real GCE TPM evidence (shared vector), every byte of the event log flipped', () => {
  it('the first half of the TCG event log', (t) => {
    const tally = tamperLog(0, LOG_HALF);
    t.diagnostic(tally.summary());
    tally.assertClean();
  });
});
