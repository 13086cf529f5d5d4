// Tamper suite, real GCE evidence: every byte of the shared COS 85 TCG event log flipped and run through the
// verifier's log step and boot appraisal; each is refused by the rule that owns it, or (for the bytes the
// PFP leaves unmeasured) leaves the appraised boot unchanged. The largest part: its second half here.
import { describe, it } from 'node:test';
import { LOG_HALF, evidence, tamperLog } from './tamper-gce-sample.ts';

describe('tamper suite: real GCE TPM evidence (shared vector), every byte of the event log flipped', () => {
  it('the second half of the TCG event log', (t) => {
    const tally = tamperLog(LOG_HALF, evidence.tcgEventLog!.length);
    t.diagnostic(tally.summary());
    tally.assertClean();
  });
});
