// The SEV-SNP certificate table (auxblob) parser is total: hostile bytes give entries or its typed error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AttestError } from '../errors.ts';
import { SNP_CERT_GUID, encodeSnpCertTable, parseSnpCertTable } from './cert-table.ts';

const table = encodeSnpCertTable([
  { guid: SNP_CERT_GUID.VCEK, der: Buffer.alloc(100, 1) },
  { guid: SNP_CERT_GUID.ASK, der: Buffer.alloc(50, 2) },
  { guid: SNP_CERT_GUID.ARK, der: Buffer.alloc(70, 3) },
]);

function onlyTypedErrors(bytes: Uint8Array): void {
  try {
    for (const entry of parseSnpCertTable(bytes)) assert.ok(entry.der.length > 0);
  } catch (error) {
    assert.ok(error instanceof AttestError && error.code === 'ERR_ATTEST_SNP_CERT_TABLE', String(error));
  }
}

describe('SEV-SNP certificate table', () => {
  it('round-trips what a host encodes, GUIDs named', () => {
    const entries = parseSnpCertTable(table);
    assert.deepEqual(
      entries.map((e) => [e.kind, e.der.length]),
      [
        ['VCEK', 100],
        ['ASK', 50],
        ['ARK', 70],
      ],
    );
    assert.deepEqual(parseSnpCertTable(new Uint8Array(0)), []);
  });

  it('reads random bytes, and the table with random bytes changed, without an untyped error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), onlyTypedErrors), { numRuns: 300 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: table.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const copy = Buffer.from(table);
        copy[at] = value;
        onlyTypedErrors(copy);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: table.length }), (cut) => onlyTypedErrors(table.subarray(0, cut))),
      { numRuns: 100 },
    );
  });
});
