// Property tests: evidence files of any content are classified or refused with the verifier's own code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AttestError, rawJsonMember } from '@sealroom/attest';
import { resolveSharedDir } from '@sealroom/core';
import fc from 'fast-check';
import { VerifierError } from './errors.ts';
import { classifyFile } from './evidence-files.ts';

const vectors = join(resolveSharedDir(), 'vectors');
const seeds = [
  readFileSync(join(vectors, 'sev-snp', 'virtee-milan', 'report.bin')),
  readFileSync(join(vectors, 'sev-snp', 'virtee-milan', 'cert_chain_milan.pem')),
  readFileSync(join(vectors, 'tdx', 'spr-e4-v4', 'tdx_prod_quote_SPR_E4.dat')),
  readFileSync(join(vectors, 'tdx', 'spr-e4-v4', 'pckcrl')),
  readFileSync(join(vectors, 'tdx', 'spr-e4-v4', 'sample_tcbInfo_response')),
];

describe('evidence files', () => {
  it('are told apart by content, whatever their name', () => {
    assert.deepEqual(
      seeds.map((bytes) => classifyFile('evidence', bytes).kind),
      ['sev-snp-report', 'certificates', 'tdx-quote', 'crl', 'tcb-info'],
    );
  });

  it('of hostile content are classified or refused with ERR_VERIFIER_EVIDENCE_FILE, never a crash', () => {
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), fc.nat())
      .map(([seed, edits, cut]) => {
        const copy = Buffer.from(seed);
        for (const [at, value] of edits) copy[at % copy.length] = value;
        return copy.subarray(0, Math.max(1, cut % (copy.length + 1)));
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 1500 })), (bytes) => {
        try {
          classifyFile('x', bytes);
        } catch (error) {
          assert.ok(error instanceof VerifierError && error.code === 'ERR_VERIFIER_EVIDENCE_FILE', String(error));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('raw JSON members: any text is scanned to an end or refused with ERR_ATTEST_TDX_COLLATERAL', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), fc.constantFrom('tcbInfo', 'signature', 'a'), (text, key) => {
        try {
          const raw = rawJsonMember(text, key);
          assert.ok(text.includes(raw));
        } catch (error) {
          assert.ok(error instanceof AttestError && error.code === 'ERR_ATTEST_TDX_COLLATERAL', String(error));
        }
      }),
      { numRuns: 500 },
    );
  });
});
