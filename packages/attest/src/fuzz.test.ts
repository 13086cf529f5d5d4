// Property tests: every binary parser, fed arbitrary or mutated bytes, returns or throws its typed error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AttestError } from './errors.ts';
import { CEL_TYPE, celRecordFor, decodeCel, encodeCel } from './eventlog/cel.ts';
import { COS_TYPE, encodeCosContent, parseCosState } from './eventlog/cos.ts';
import { encodeTcgEventLog, parseTcgEventLog, replayTcgEventLog } from './eventlog/tcg.ts';
import { loadGceVector } from './test-vectors.ts';
import { encodeQuoteInfo, parseQuoteInfo } from './tpm/attest.ts';
import { TPM_ALG } from './tpm/constants.ts';
import { encodePcrSelectionList, parsePcrSelectionList } from './tpm/pcr-selection.ts';
import { encodeTpmPublic, parseTpmPublic, toPublicKey } from './tpm/public.ts';
import { encodeTpmSignature, parseTpmSignature } from './tpm/signature.ts';
import { decodeInstanceInfo, readInstanceInfo } from './x509/instance-info.ts';

const vector = loadGceVector();
const sampleQuote = vector.quotes[1]!;
const RUNS = { numRuns: 300 };

/** Runs `parse`; anything thrown must be an AttestError. */
function onlyTypedErrors(parse: (bytes: Uint8Array) => unknown): (bytes: Uint8Array) => void {
  return (bytes) => {
    try {
      parse(bytes);
    } catch (error) {
      assert.ok(error instanceof AttestError, `untyped error: ${String(error)}`);
    }
  };
}

/** Arbitrary bytes, and the seed with a few bytes overwritten or cut (closer to real structure). */
function around(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(
      fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(seed.length),
    )
    .map(([edits, cut]) => {
      const copy = Buffer.from(seed);
      for (const [at, value] of edits) copy[at] = value;
      return copy.subarray(0, Math.max(cut, seed.length - 8));
    });
  return fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated);
}

const celSeed = encodeCel(
  [
    encodeCosContent(COS_TYPE.IMAGE_REF, 'img'),
    encodeCosContent(COS_TYPE.ENV_VAR, 'A=b'),
    encodeCosContent(COS_TYPE.LAUNCH_SEPARATOR, ''),
  ].map((content, i) => celRecordFor(BigInt(i), CEL_TYPE.PCR, 13, content, [TPM_ALG.SHA256])),
);
const tcgSeed = encodeTcgEventLog([TPM_ALG.SHA256], [{ pcrIndex: 0, eventType: 8, data: Buffer.from('x') }]);

describe('binary parsers never crash or hang on hostile input', () => {
  const parsers: ReadonlyArray<[string, Uint8Array, (bytes: Uint8Array) => unknown]> = [
    ['TPMS_ATTEST', sampleQuote.rawQuote, parseQuoteInfo],
    ['TPMT_SIGNATURE', sampleQuote.rawSignature, parseTpmSignature],
    ['TPMT_PUBLIC (and its key)', vector.akPub, (b) => toPublicKey(parseTpmPublic(b))],
    ['TPML_PCR_SELECTION', Buffer.from('000000010004030000ff', 'hex'), parsePcrSelectionList],
    ['TCG event log (and replay)', tcgSeed, (b) => replayTcgEventLog(parseTcgEventLog(b), TPM_ALG.SHA256)],
    ['canonical event log (and COS rules)', celSeed, (b) => parseCosState(decodeCel(b), 'tpm')],
    ['certificate extensions (instance info)', vector.akCert, readInstanceInfo],
    ['instance info', Buffer.from('3003020101', 'hex'), decodeInstanceInfo],
  ];
  for (const [name, seed, parse] of parsers) {
    it(`${name}: only typed errors`, () => {
      fc.assert(fc.property(around(seed), onlyTypedErrors(parse)), RUNS);
    });
  }

  it('a large forged event size is refused without allocating it', () => {
    const bytes = Buffer.from(tcgSeed);
    bytes.writeUInt32LE(0xfffffff0, bytes.length - 5);
    assert.throws(() => parseTcgEventLog(bytes), { code: 'ERR_ATTEST_MALFORMED_EVENT_LOG' });
  });
});

describe('encoders and parsers agree', () => {
  const bytes = (max: number) => fc.uint8Array({ maxLength: max });
  it('TPMS_ATTEST round-trips', () => {
    const quote = fc.record({
      qualifiedSigner: bytes(34),
      extraData: bytes(64),
      clockInfo: fc.record({
        clock: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        resetCount: fc.nat(),
        restartCount: fc.nat(),
        safe: fc.boolean(),
      }),
      firmwareVersion: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      pcrSelections: fc.array(
        fc.record({
          hashAlg: fc.integer({ min: 0, max: 0xffff }),
          pcrs: fc.uniqueArray(fc.integer({ min: 0, max: 23 })).map((p) => p.sort((a, b) => a - b)),
          sizeOfSelect: fc.constant(3),
        }),
        { maxLength: 4 },
      ),
      pcrDigest: bytes(64),
    });
    fc.assert(
      fc.property(quote, (q) => {
        const encoded = encodeQuoteInfo(q);
        assert.deepEqual(encodeQuoteInfo(parseQuoteInfo(encoded)), encoded);
        assert.deepEqual(
          encodePcrSelectionList(parsePcrSelectionList(encodePcrSelectionList(q.pcrSelections))),
          encodePcrSelectionList(q.pcrSelections),
        );
      }),
      RUNS,
    );
  });

  it('TPMT_SIGNATURE round-trips', () => {
    const sig = fc.oneof(
      fc.record({
        sigAlg: fc.constantFrom(TPM_ALG.RSASSA, TPM_ALG.RSAPSS),
        hashAlg: fc.constantFrom(4, 11, 12),
        sig: bytes(512),
      }),
      fc.record({ sigAlg: fc.constant(TPM_ALG.ECDSA), hashAlg: fc.constantFrom(11, 12), r: bytes(66), s: bytes(66) }),
    );
    fc.assert(
      fc.property(sig, (s) => {
        const encoded = encodeTpmSignature(s);
        assert.deepEqual(encodeTpmSignature(parseTpmSignature(encoded)), encoded);
      }),
      RUNS,
    );
  });

  it('TPMT_PUBLIC round-trips', () => {
    fc.assert(
      fc.property(bytes(66), bytes(66), fc.nat(), (x, y, attrs) => {
        const pub = {
          type: TPM_ALG.ECC,
          nameAlg: TPM_ALG.SHA256,
          objectAttributes: attrs,
          authPolicy: new Uint8Array(0),
          symmetric: { alg: TPM_ALG.NULL },
          scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
          curveId: 3,
          kdf: { scheme: TPM_ALG.NULL },
          x,
          y,
        } as const;
        const encoded = encodeTpmPublic(pub);
        assert.deepEqual(encodeTpmPublic(parseTpmPublic(encoded)), encoded);
      }),
      RUNS,
    );
  });

  it('canonical event logs round-trip', () => {
    const event = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.string({ maxLength: 40 }));
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), (events) => {
        const encoded = encodeCel(
          events.map(([type, value], i) =>
            celRecordFor(BigInt(i), CEL_TYPE.PCR, 13, encodeCosContent(type, value), [TPM_ALG.SHA256, TPM_ALG.SHA384]),
          ),
        );
        assert.deepEqual(encodeCel(decodeCel(encoded)), encoded);
      }),
      RUNS,
    );
  });
});
