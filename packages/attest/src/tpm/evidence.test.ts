import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COS_PCR, COS_TYPE, encodeCosContent } from '../eventlog/cos.ts';
import { encodeTcgEventLog, kernelCmdlineEvent, parseTcgEventLog } from '../eventlog/tcg.ts';
import { createPlatformCa } from '../platform/platform-ca.ts';
import { bootSoftPlatform } from '../platform/soft.ts';
import { softBootOptions } from '../testing.ts';
import { loadGceVector } from '../test-vectors.ts';
import { encodeTpmPublic, parseTpmPublic } from './public.ts';
import type { TpmPublic } from './public.ts';
import { TPM_ALG } from './constants.ts';
import { verifyBootLog, verifyLaunchLog, verifyTpmEvidence } from './evidence.ts';
import type { TpmEvidence } from './evidence.ts';
import type { TpmQuote } from './quote.ts';

const vector = loadGceVector();
const AT = new Date('2026-01-01T00:00:00Z');
const evidence: TpmEvidence = {
  quotes: vector.quotes,
  akPub: vector.akPub,
  akCert: vector.akCert,
  certChain: [],
  tcgEventLog: vector.eventLog,
};
const options = { nonce: vector.nonce, trustedRoots: [vector.root], intermediates: [vector.intermediate], at: AT };

describe('GCE COS 85 attestation as a whole (shared vector)', () => {
  it('verifies all three banks, the nonce, the AK chain, the event log and the instance info', () => {
    const verified = verifyTpmEvidence(evidence, options);
    assert.deepEqual([...verified.pcrs.keys()], [TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384]);
    assert.equal(verified.quotes.length, 3);
    assert.equal(verified.instanceInfo?.instanceName, 'cos-test');
    assert.equal(verified.instanceInfo?.projectNumber, '117478743145');
    assert.ok(verified.kernelCmdline?.startsWith('/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd'));
    assert.ok(verified.kernelCmdline?.endsWith('"'));
  });

  it('also accepts the chain when the evidence itself carries the intermediate', () => {
    verifyTpmEvidence({ ...evidence, certChain: [vector.intermediate] }, { ...options, intermediates: [] });
  });

  it('reads a boot log once per log and PCR values, and still refuses it against other PCR values', () => {
    const verified = verifyTpmEvidence(evidence, options);
    const log = Buffer.from(vector.eventLog);
    const first = verifyBootLog(log, verified.pcrs);
    assert.equal(verifyBootLog(Buffer.from(log), verified.pcrs), first, 'the same bytes give the kept result');
    assert.deepEqual(first.bootState, verified.bootState);
    // One quoted SHA-256 value changed: a new key, so the log is replayed again and refused.
    const sha256 = new Map(verified.pcrs.get(TPM_ALG.SHA256));
    const [index, value] = [...sha256].find(([i]) => i === 4) as [number, Uint8Array];
    sha256.set(index, Buffer.from(value).fill(0));
    const changed = new Map(verified.pcrs).set(TPM_ALG.SHA256, sha256);
    assert.throws(() => verifyBootLog(log, changed), { code: 'ERR_ATTEST_REPLAY_MISMATCH' });
    assert.equal(verifyBootLog(log, verified.pcrs), first);
  });

  it('reports the first quote that fails, and a second quote of one bank after the quotes before it', () => {
    const [first, second] = vector.quotes as [TpmQuote, TpmQuote];
    assert.throws(() => verifyTpmEvidence({ ...evidence, quotes: [...vector.quotes, second] }, options), {
      code: 'ERR_ATTEST_PCR_DIGEST_MISMATCH',
      message: 'Two quotes of one bank.',
    });
    const forged = Buffer.from(second.rawSignature);
    forged[forged.length - 1]! ^= 0xff;
    const badSecond = { ...second, rawSignature: forged };
    assert.throws(() => verifyTpmEvidence({ ...evidence, quotes: [first, badSecond, first] }, options), {
      code: 'ERR_ATTEST_QUOTE_SIGNATURE',
    });
    const badFirst = { ...first, rawQuote: Buffer.from(first.rawQuote).fill(0, 10, 20) };
    assert.throws(() => verifyTpmEvidence({ ...evidence, quotes: [badFirst, badSecond] }, options), {
      code: 'ERR_ATTEST_QUOTE_SIGNATURE',
      message: /SHA-?1/i,
    });
  });

  it('refuses SHA-1 alone', () => {
    const sha1Only = { ...evidence, quotes: vector.quotes.filter((q) => q.hashAlgo === TPM_ALG.SHA1) };
    assert.throws(() => verifyTpmEvidence(sha1Only, options), { code: 'ERR_ATTEST_UNSUPPORTED_ALGORITHM' });
  });

  it('refuses an AK public area that is not the certificate key', () => {
    const akPub = Buffer.from(vector.akPub);
    akPub[akPub.length - 1]! ^= 1;
    assert.throws(() => verifyTpmEvidence({ ...evidence, akPub }, options), { code: 'ERR_ATTEST_AK_MISMATCH' });
  });

  it('refuses an event log that does not replay to the quoted PCRs', () => {
    const tcgEventLog = Buffer.from(vector.eventLog);
    // The first PCR 4 EFI application digest of the SHA-256 bank.
    const digestAt = tcgEventLog.indexOf(Buffer.from('dba8d69ffb244496ac8ab2950695d3da', 'hex'));
    tcgEventLog[digestAt]! ^= 1;
    assert.throws(() => verifyTpmEvidence({ ...evidence, tcgEventLog }, options), {
      code: 'ERR_ATTEST_REPLAY_MISMATCH',
    });
  });

  const akPubWith = (edit: (pub: ReturnType<typeof parseTpmPublic>) => object): Buffer =>
    encodeTpmPublic({ ...parseTpmPublic(vector.akPub), ...edit(parseTpmPublic(vector.akPub)) } as TpmPublic);
  const notAnAk: ReadonlyArray<[string, Buffer]> = [
    [
      'an unrestricted key (it could sign forged quotes)',
      akPubWith((p) => ({ objectAttributes: p.objectAttributes & ~(1 << 16) })),
    ],
    ['a decryption key', akPubWith((p) => ({ objectAttributes: p.objectAttributes | (1 << 17) }))],
    ['a key that may leave its TPM', akPubWith((p) => ({ objectAttributes: p.objectAttributes & ~(1 << 1) }))],
    ['reserved attribute bits', akPubWith((p) => ({ objectAttributes: p.objectAttributes | (1 << 31) }))],
    ['a symmetric algorithm', akPubWith(() => ({ symmetric: { alg: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB } }))],
    ['an ECDAA scheme', akPubWith(() => ({ scheme: { scheme: TPM_ALG.ECDAA, hashAlg: TPM_ALG.SHA256, count: 0 } }))],
    ['an unknown nameAlg', akPubWith(() => ({ nameAlg: 0x0012 }))],
    ['a keyBits that is not its modulus size', akPubWith(() => ({ keyBits: 1024 }))],
  ];
  for (const [name, akPub] of notAnAk) {
    it(`refuses an AK public area with ${name}, although its key is the certificate's`, () => {
      assert.throws(() => verifyTpmEvidence({ ...evidence, akPub }, options), { code: 'ERR_ATTEST_AK_ATTRIBUTES' });
    });
  }

  it('refuses the wrong nonce', () => {
    assert.throws(() => verifyTpmEvidence(evidence, { ...options, nonce: Buffer.from('9008', 'hex') }), {
      code: 'ERR_ATTEST_NONCE_MISMATCH',
    });
  });
});

describe('event log bound to the quotes it accompanies', () => {
  const sha1Quote = vector.quotes.find((q) => q.hashAlgo === TPM_ALG.SHA1)!;
  const realLog = parseTcgEventLog(vector.eventLog);
  /** The real log re-encoded with only the given banks (each event keeps its real digests). */
  const reencoded = (algs: number[], extraAlg?: number): Buffer =>
    encodeTcgEventLog(
      extraAlg === undefined ? algs : [...algs, extraAlg],
      realLog.events.map((e) => ({
        pcrIndex: e.pcrIndex,
        eventType: e.eventType,
        data: e.data,
        digests: new Map([
          ...algs.map((alg): [number, Uint8Array] => [alg, e.digests.get(alg)!]),
          ...(extraAlg === undefined ? [] : [[extraAlg, Buffer.alloc(32)] as [number, Uint8Array]]),
        ]),
      })),
    );

  it('accepts the real log re-encoded with its SHA-256 bank only', () => {
    const verified = verifyTpmEvidence({ ...evidence, tcgEventLog: reencoded([TPM_ALG.SHA256]) }, options);
    assert.ok(verified.kernelCmdline?.startsWith('/syslinux/vmlinuz.A'));
  });

  it('refuses a log that shares no bank with the quotes, whatever command line it carries', () => {
    const forged = encodeTcgEventLog(
      [TPM_ALG.SHA512],
      [kernelCmdlineEvent('confidential-space.hardened=true forged', [TPM_ALG.SHA512])],
    );
    assert.throws(() => verifyTpmEvidence({ ...evidence, tcgEventLog: forged }, options), {
      code: 'ERR_ATTEST_EVENT_LOG_UNBOUND',
    });
  });

  it('refuses a log whose only bank shared with the quotes is SHA-1', () => {
    assert.ok(sha1Quote);
    assert.throws(() => verifyTpmEvidence({ ...evidence, tcgEventLog: reencoded([TPM_ALG.SHA1]) }, options), {
      code: 'ERR_ATTEST_EVENT_LOG_UNBOUND',
    });
  });

  it('refuses a log that lists a digest algorithm Sealroom does not know', () => {
    const SM3_256 = 0x0012;
    assert.throws(
      () => verifyTpmEvidence({ ...evidence, tcgEventLog: reencoded([TPM_ALG.SHA256], SM3_256) }, options),
      { code: 'ERR_ATTEST_UNSUPPORTED_ALGORITHM' },
    );
  });

  it('replays every quoted bank the log carries: a wrong SHA-1 digest is refused even with SHA-256 intact', () => {
    const log = Buffer.from(vector.eventLog);
    // The first PCR 4 EFI application digest of the SHA-1 bank.
    const at = log.indexOf(Buffer.from('bfeec15d9359fe0aa8b5fb6451d1f73e', 'hex'));
    assert.ok(at > 0);
    log[at]! ^= 1;
    assert.throws(() => verifyTpmEvidence({ ...evidence, tcgEventLog: log }, options), {
      code: 'ERR_ATTEST_REPLAY_MISMATCH',
    });
  });
});

describe('the canonical event log of a launch (soft platform)', () => {
  const NOW = Date.UTC(2026, 5, 1);
  const ca = createPlatformCa(NOW);
  const launch = async (digest: string) => {
    const platform = bootSoftPlatform(softBootOptions(ca, NOW));
    await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_REF, 'reg/p/r/img'));
    await platform.measureEvent(encodeCosContent(COS_TYPE.IMAGE_DIGEST, digest));
    await platform.measureEvent(encodeCosContent(COS_TYPE.RESTART_POLICY, 'Never'));
    await platform.measureEvent(encodeCosContent(COS_TYPE.ARG, '/app'));
    await platform.measureEvent(encodeCosContent(COS_TYPE.ENV_VAR, 'PATH=/bin'));
    const nonce = Buffer.alloc(32, 7);
    const { tpm } = await platform.attest(nonce);
    return { tpm, pcrs: verifyTpmEvidence(tpm, { nonce, trustedRoots: [ca.certificate], at: new Date(NOW) }).pcrs };
  };

  it('is read once per log and PCR 13, shared frozen, and still refused against another PCR 13', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const { tpm, pcrs } = await launch(digest);
    const log = Buffer.from(tpm.canonicalEventLog as Uint8Array);
    const first = verifyLaunchLog(log, pcrs);
    assert.equal(first.container.imageDigest, digest);
    assert.equal(verifyLaunchLog(Buffer.from(log), pcrs), first, 'the same bytes and PCR 13 give the kept result');
    // Every caller gets the same object: none can change what the next one reads.
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.container) && Object.isFrozen(first.container.args));
    assert.throws(() => (first.container.args as string[]).push('--evil'), TypeError);
    assert.throws(() => {
      (first.container as { imageDigest: string }).imageDigest = 'sha256:0';
    }, TypeError);

    // PCR 13 of one bank changed: another key, so the log is replayed again and refused (and not kept).
    const changedBank = (alg: number) => {
      const values = new Map(pcrs.get(alg));
      values.set(COS_PCR, Buffer.alloc((values.get(COS_PCR) as Uint8Array).length, 0));
      return new Map(pcrs).set(alg, values);
    };
    for (let round = 0; round < 2; round++) {
      assert.throws(() => verifyLaunchLog(log, changedBank(TPM_ALG.SHA256)), { code: 'ERR_ATTEST_REPLAY_MISMATCH' });
    }
    // Without PCR 13 in a bank the log shares with the quotes: refused, every time.
    const without = new Map(pcrs.get(TPM_ALG.SHA256));
    without.delete(COS_PCR);
    for (let round = 0; round < 2; round++) {
      assert.throws(() => verifyLaunchLog(log, new Map(pcrs).set(TPM_ALG.SHA256, without)), {
        code: 'ERR_ATTEST_REPLAY_MISMATCH',
      });
    }
    // Another launch's log against these PCRs: its own key, refused.
    const other = await launch(`sha256:${'b'.repeat(64)}`);
    assert.throws(() => verifyLaunchLog(other.tpm.canonicalEventLog as Uint8Array, pcrs), {
      code: 'ERR_ATTEST_REPLAY_MISMATCH',
    });
    assert.equal(verifyLaunchLog(log, pcrs), first);
  });
});
