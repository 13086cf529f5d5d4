import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGceVector } from '../test-vectors.ts';
import { encodeQuoteInfo, parseQuoteInfo } from './attest.ts';
import { TPM_ALG } from './constants.ts';
import { encodeTpmPublic, matchesPublicKey, parseTpmPublic, toPublicKey } from './public.ts';
import { verifyQuote } from './quote.ts';
import { encodeTpmSignature, parseTpmSignature } from './signature.ts';

const vector = loadGceVector();

describe('GCE COS 85 quotes (shared vector)', () => {
  const akPublic = parseTpmPublic(vector.akPub);
  const akPublicKey = toPublicKey(akPublic);

  it('parses the AK public area as RSA-2048 RSASSA/SHA-256 and re-encodes it byte for byte', () => {
    assert.equal(akPublic.type, TPM_ALG.RSA);
    assert.equal(akPublic.type === TPM_ALG.RSA && akPublic.keyBits, 2048);
    assert.equal(akPublic.objectAttributes, 0x50072);
    assert.deepEqual(akPublic.scheme, { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 });
    assert.equal(akPublicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.deepEqual(encodeTpmPublic(akPublic), vector.akPub);
    assert.ok(matchesPublicKey(akPublic, akPublicKey));
    const other = parseTpmPublic(vector.akPub);
    if (other.type === TPM_ALG.RSA) {
      const modulus = Buffer.from(other.modulus);
      modulus[10]! ^= 1;
      assert.ok(!matchesPublicKey({ ...other, modulus }, akPublicKey));
      assert.ok(!matchesPublicKey({ ...other, exponent: 3 }, akPublicKey));
    }
  });

  for (const quote of vector.quotes) {
    const expected = vector.expected.expect.quotes.find((q: { hashAlgo: number }) => q.hashAlgo === quote.hashAlgo);

    it(`verifies the bank ${quote.hashAlgo} quote with nonce 9009 and every PCR`, () => {
      const info = verifyQuote(quote, { akPublicKey, nonce: vector.nonce });
      assert.equal(Buffer.from(info.extraData).toString('hex'), '9009');
      assert.equal(Buffer.from(info.pcrDigest).toString('hex'), expected.pcrDigest);
      assert.equal(info.clockInfo.clock, BigInt(expected.clock));
      assert.equal(info.clockInfo.resetCount, expected.resetCount);
      assert.equal(`0x${info.firmwareVersion.toString(16).padStart(16, '0')}`, expected.firmwareVersion);
      assert.deepEqual(info.pcrSelections[0]?.pcrs, expected.pcrSelection);
    });

    it(`re-encodes the bank ${quote.hashAlgo} TPMS_ATTEST and TPMT_SIGNATURE byte for byte`, () => {
      assert.deepEqual(encodeQuoteInfo(parseQuoteInfo(quote.rawQuote)), Buffer.from(quote.rawQuote));
      assert.deepEqual(encodeTpmSignature(parseTpmSignature(quote.rawSignature)), Buffer.from(quote.rawSignature));
    });
  }

  const sha256 = vector.quotes.find((q) => q.hashAlgo === TPM_ALG.SHA256)!;

  it('refuses an empty nonce', () => {
    assert.throws(() => verifyQuote(sha256, { akPublicKey, nonce: new Uint8Array(0) }), {
      code: 'ERR_ATTEST_NONCE_MISMATCH',
    });
  });

  it('refuses every single flipped quote byte', () => {
    for (let i = 0; i < sha256.rawQuote.length; i++) {
      const rawQuote = Buffer.from(sha256.rawQuote);
      rawQuote[i]! ^= 0x01;
      assert.throws(() => verifyQuote({ ...sha256, rawQuote }, { akPublicKey, nonce: vector.nonce }), {
        code: 'ERR_ATTEST_QUOTE_SIGNATURE',
      });
    }
  });

  it('refuses a changed PCR value', () => {
    const pcrValues = new Map(sha256.pcrValues);
    const pcr5 = Buffer.from(pcrValues.get(5)!);
    pcr5[0]! ^= 0xff;
    pcrValues.set(5, pcr5);
    assert.throws(() => verifyQuote({ ...sha256, pcrValues }, { akPublicKey, nonce: vector.nonce }), {
      code: 'ERR_ATTEST_PCR_DIGEST_MISMATCH',
    });
  });

  it('refuses a missing PCR value', () => {
    const pcrValues = new Map(sha256.pcrValues);
    pcrValues.delete(23);
    assert.throws(() => verifyQuote({ ...sha256, pcrValues }, { akPublicKey, nonce: vector.nonce }), {
      code: 'ERR_ATTEST_PCR_DIGEST_MISMATCH',
    });
  });

  it('refuses a quote signed for one bank but presented as another', () => {
    const sha384 = vector.quotes.find((q) => q.hashAlgo === TPM_ALG.SHA384)!;
    assert.throws(() => verifyQuote({ ...sha384, hashAlgo: TPM_ALG.SHA256 }, { akPublicKey, nonce: vector.nonce }), {
      code: 'ERR_ATTEST_PCR_DIGEST_MISMATCH',
    });
  });
});
