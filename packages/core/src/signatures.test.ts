// The key-object-only checks against node:crypto's own option forms: the same verdict on good, altered and
// misshapen signatures, for every curve and for RSA.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  ecdsaP1363ToDer,
  publicKeyFromPem,
  signRs256Jwt,
  verifyEcdsaDer,
  verifyEcdsaP1363,
  verifyRs256,
  verifyRsaPkcs1,
} from './signatures.ts';

const CURVES = [
  ['P-256', 'sha256', 32],
  ['P-384', 'sha384', 48],
  ['P-521', 'sha512', 66],
] as const;

/** r and s of a DER ECDSA-Sig-Value, read by hand (short or 0x81 lengths only, as ECDSA needs). */
function readDer(der: Buffer): [bigint, bigint] {
  let at = 0;
  const length = () => {
    const first = der[at++] as number;
    return first === 0x81 ? (der[at++] as number) : first;
  };
  assert.equal(der[at++], 0x30);
  assert.equal(length(), der.length - at, 'the sequence holds exactly the rest');
  const integer = () => {
    assert.equal(der[at++], 0x02);
    const n = length();
    const body = der.subarray(at, at + n);
    at += n;
    assert.ok(n === 1 || !(body[0] === 0 && (body[1] as number) < 0x80), 'minimal: no needless leading zero');
    assert.equal((body[0] as number) & 0x80, 0, 'non-negative');
    return BigInt(`0x${body.toString('hex')}`);
  };
  return [integer(), integer()];
}

describe('ECDSA in IEEE P1363 form with the key object alone', () => {
  for (const [curve, hash, size] of CURVES) {
    it(`${curve}: the verdict node:crypto's ieee-p1363 option gives, on good, altered and misshapen signatures`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      for (let i = 0; i < 40; i++) {
        const data = randomBytes(1 + i);
        const good = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        const [r, s] = readDer(ecdsaP1363ToDer(good));
        assert.equal(r, BigInt(`0x${good.subarray(0, size).toString('hex')}`));
        assert.equal(s, BigInt(`0x${good.subarray(size).toString('hex')}`));
        const altered = Buffer.from(good);
        altered[i % altered.length]! ^= 1 << (i % 8);
        const candidates = [
          good,
          altered,
          good.subarray(1),
          Buffer.concat([good, Buffer.of(0)]),
          Buffer.alloc(2 * size),
        ];
        for (const signature of candidates) {
          const expected = verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
          assert.equal(verifyEcdsaP1363(hash, data, publicKey, signature), expected);
        }
        assert.equal(verifyEcdsaP1363(hash, data, publicKey, good), true);
      }
    });
  }

  it('encodes halves with leading zeros and with the high bit set minimally', () => {
    const half = (first: number) => Buffer.concat([Buffer.of(first), randomBytes(31)]);
    for (const [rFirst, sFirst] of [
      [0x00, 0x80],
      [0x80, 0x00],
      [0x7f, 0xff],
    ] as const) {
      const raw = Buffer.concat([half(rFirst), half(sFirst)]);
      const [r, s] = readDer(ecdsaP1363ToDer(raw));
      assert.equal(r, BigInt(`0x${raw.subarray(0, 32).toString('hex')}`));
      assert.equal(s, BigInt(`0x${raw.subarray(32).toString('hex')}`));
    }
    assert.deepEqual(readDer(ecdsaP1363ToDer(Buffer.alloc(64))), [0n, 0n]);
  });

  it('refuses a key that is not EC, and a signature of another curve size', () => {
    const data = Buffer.from('data');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const good = sign('sha256', data, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(verifyEcdsaP1363('sha256', data, p384.publicKey, good), false);
    assert.equal(verifyEcdsaP1363('sha256', data, rsa.publicKey, good), false);
    const ed = generateKeyPairSync('ed25519');
    assert.equal(verifyEcdsaP1363('sha256', data, ed.publicKey, good), false);
  });
});

describe('ECDSA in DER form and RSASSA-PKCS1-v1_5 with the key object alone', () => {
  it("gives the verdict of node:crypto's option forms", () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(10 + i);
      const der = sign('sha256', data, ec.privateKey);
      const pkcs1 = sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING });
      const flip = (b: Buffer) => {
        const copy = Buffer.from(b);
        copy[i % copy.length]! ^= 0x10;
        return copy;
      };
      for (const signature of [der, flip(der)]) {
        let expected: boolean;
        try {
          expected = verify('sha256', data, { key: ec.publicKey, dsaEncoding: 'der' }, signature);
        } catch {
          expected = false;
        }
        let actual: boolean;
        try {
          actual = verifyEcdsaDer('sha256', data, ec.publicKey, signature);
        } catch {
          actual = false;
        }
        assert.equal(actual, expected);
      }
      for (const signature of [pkcs1, flip(pkcs1)]) {
        const expected = verify(
          'sha256',
          data,
          { key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING },
          signature,
        );
        assert.equal(verifyRsaPkcs1('sha256', data, rsa.publicKey, signature), expected);
      }
      assert.equal(verifyRsaPkcs1('sha256', data, rsa.publicKey, pkcs1), true);
      assert.equal(verifyEcdsaDer('sha256', data, ec.publicKey, der), true);
    }
    assert.equal(verifyRsaPkcs1('sha256', Buffer.of(1), ec.publicKey, Buffer.alloc(256)), false);
    assert.equal(verifyEcdsaDer('sha256', Buffer.of(1), rsa.publicKey, Buffer.alloc(8)), false);
  });
});

describe('verifyRs256', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jws = (signer = rsa.privateKey) => {
    const input = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}`;
    return { input, signature: sign('sha256', Buffer.from(input), signer).toString('base64url') };
  };

  it('accepts the signature over the signing input as sent, by an RSA key of 2048 bits or more', () => {
    const { input, signature } = jws();
    assert.equal(verifyRs256(input, signature, rsa.publicKey), true);
    const large = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const by = jws(large.privateKey);
    assert.equal(verifyRs256(by.input, by.signature, large.publicKey), true);
  });

  it('refuses another input, an altered or misencoded signature, and keys that are not such keys', () => {
    const { input, signature } = jws();
    const other = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    assert.equal(verifyRs256(`${input}x`, signature, rsa.publicKey), false);
    assert.equal(verifyRs256(input, other, rsa.publicKey), false);
    assert.equal(verifyRs256(input, '', rsa.publicKey), false);
    // The same bytes in standard base64 (or padded) are not a JWS segment.
    const standard = Buffer.from(signature, 'base64url').toString('base64');
    assert.match(standard, /[+/=]/);
    assert.equal(verifyRs256(input, standard, rsa.publicKey), false);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const bySmall = jws(small.privateKey);
    assert.equal(
      verify('sha256', Buffer.from(bySmall.input), small.publicKey, Buffer.from(bySmall.signature, 'base64url')),
      true,
    );
    assert.equal(verifyRs256(bySmall.input, bySmall.signature, small.publicKey), false, 'under 2048 bits');
    assert.equal(verifyRs256(input, signature, rsa.privateKey), false, 'a private key is not a verification key');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.equal(verifyRs256(input, signature, ec.publicKey), false);
  });
});

describe('publicKeyFromPem', () => {
  it('parses a PEM once and hands back the same key; a PEM that does not parse throws every time', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const key = publicKeyFromPem(pem);
    assert.equal(key.equals(publicKey), true);
    assert.equal(publicKeyFromPem(pem), key);
    const broken = pem.replace(/[A-Za-z]{8}/, 'AAAAAAAA');
    for (let i = 0; i < 2; i++) assert.throws(() => publicKeyFromPem(broken));
    assert.throws(() => publicKeyFromPem('not a key'));
  });
});

describe('signRs256Jwt', () => {
  it('signs header.payload as sent, RS256 whatever the header said, verifiable by the public key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = await signRs256Jwt({ alg: 'none', kid: 'k1', typ: 'JWT' }, { sub: 'a', n: 1 }, rsa.privateKey);
    const [head = '', body = '', signature = ''] = token.split('.');
    assert.equal(Buffer.from(head, 'base64url').toString(), '{"alg":"RS256","kid":"k1","typ":"JWT"}');
    assert.deepEqual(JSON.parse(Buffer.from(body, 'base64url').toString()), { sub: 'a', n: 1 });
    assert.equal(verifyRs256(`${head}.${body}`, signature, rsa.publicKey), true);
    assert.equal(
      verify('sha256', Buffer.from(`${head}.${body}`), rsa.publicKey, Buffer.from(signature, 'base64url')),
      true,
    );
  });

  it('refuses a key that is not an RSA private key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await assert.rejects(signRs256Jwt({}, {}, rsa.publicKey), { code: 'ERR_INTERNAL' });
    await assert.rejects(signRs256Jwt({}, {}, ec.privateKey), { code: 'ERR_INTERNAL' });
  });
});
