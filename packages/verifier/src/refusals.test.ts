import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CEL_TYPE,
  TPM_ALG,
  createPlatformCa,
  decodeCel,
  encodeCel,
  encodeTcgEventLog,
  kernelCmdlineEvent,
  softBootCmdline,
} from '@sealroom/attest';
import type { TpmEvidence } from '@sealroom/attest';
import { VerifierError } from './errors.ts';
import { createImageDatabase, softImageEntries, softImageEntry } from './image-db.ts';
import { LAUNCHER_BUILD, createFixture } from './test-fixture.ts';
import type { Fixture } from './test-fixture.ts';

/** Each tampering is refused with its own code, named in the error body, without echoing evidence. */
describe('verifier refusals', () => {
  let f: Fixture;
  before(async () => {
    f = await createFixture();
  });
  after(async () => {
    await f.app.close();
    await f.t.close();
  });

  async function fresh(): Promise<{ challenge: string; nonce: Buffer; evidence: TpmEvidence }> {
    const platform = await f.boot();
    const challenge = await f.createChallenge();
    const nonce = Buffer.from(challenge.tpmNonce, 'base64');
    return { challenge: challenge.name, nonce, evidence: (await platform.attest(nonce)).tpm };
  }

  async function expectRefusal(challenge: string, body: Record<string, unknown>, code: string, status = 400) {
    const res = await f.verify(challenge, body);
    assert.equal(res.status, status, JSON.stringify(res.json));
    assert.equal(res.json.error.details[0].reason, code);
    return res.json.error.message as string;
  }

  function withCel(
    evidence: TpmEvidence,
    edit: (records: ReturnType<typeof decodeCel>) => ReturnType<typeof decodeCel>,
  ) {
    // Renumbered as an attacker would, so only the replay can tell.
    const records = edit(decodeCel(evidence.canonicalEventLog!)).map((r, i) => ({ ...r, recnum: BigInt(i) }));
    return { ...evidence, canonicalEventLog: encodeCel(records) };
  }

  it('a flipped quote byte → ERR_VERIFIER_QUOTE_SIGNATURE', async () => {
    const { challenge, evidence } = await fresh();
    const quote = evidence.quotes[0]!;
    const rawQuote = Buffer.from(quote.rawQuote);
    rawQuote[rawQuote.length - 5]! ^= 0x40;
    const tampered = { ...evidence, quotes: [{ ...quote, rawQuote }, ...evidence.quotes.slice(1)] };
    const message = await expectRefusal(challenge, await f.body(tampered, challenge), 'ERR_VERIFIER_QUOTE_SIGNATURE');
    assert.ok(!message.includes(rawQuote.toString('base64').slice(0, 16)));
  });

  it('evidence over another nonce (a foreign challenge) → ERR_VERIFIER_NONCE_MISMATCH', async () => {
    const { evidence } = await fresh();
    const other = await f.createChallenge();
    await expectRefusal(other.name, await f.body(evidence, other.name), 'ERR_VERIFIER_NONCE_MISMATCH');
  });

  it('a replayed challenge → ERR_VERIFIER_CHALLENGE_USED', async () => {
    const { challenge, evidence } = await fresh();
    const body = await f.body(evidence, challenge);
    assert.equal((await f.verify(challenge, body)).status, 200);
    await expectRefusal(challenge, body, 'ERR_VERIFIER_CHALLENGE_USED');
  });

  it('an expired challenge → ERR_VERIFIER_CHALLENGE_EXPIRED', async () => {
    const { challenge, evidence } = await fresh();
    const body = await f.body(evidence, challenge);
    f.clock.advance(901_000);
    try {
      await expectRefusal(challenge, body, 'ERR_VERIFIER_CHALLENGE_EXPIRED');
    } finally {
      f.clock.advance(-901_000);
    }
  });

  it('an unknown challenge → ERR_VERIFIER_CHALLENGE_NOT_FOUND', async () => {
    const { evidence } = await fresh();
    const name = 'projects/operator-project/locations/us-central1/challenges/00000000-0000-4000-8000-000000000000';
    await expectRefusal(name, await f.body(evidence, name), 'ERR_VERIFIER_CHALLENGE_NOT_FOUND', 404);
  });

  const celEdits: ReadonlyArray<[string, (r: ReturnType<typeof decodeCel>) => ReturnType<typeof decodeCel>]> = [
    ['inserted', (r) => [...r.slice(0, 5), r[4]!, ...r.slice(5)]],
    ['removed', (r) => [...r.slice(0, 4), ...r.slice(5)]],
    ['reordered', (r) => [r[0]!, r[2]!, r[1]!, ...r.slice(3)]],
  ];
  for (const [name, edit] of celEdits) {
    it(`a CEL event ${name} → ERR_VERIFIER_EVENT_LOG_MISMATCH`, async () => {
      const { challenge, evidence } = await fresh();
      await expectRefusal(
        challenge,
        await f.body(withCel(evidence, edit), challenge),
        'ERR_VERIFIER_EVENT_LOG_MISMATCH',
      );
    });
  }

  it('a CEL record moved to another register → ERR_VERIFIER_CEL_INDEX_TYPE', async () => {
    const { challenge, evidence } = await fresh();
    const tampered = withCel(evidence, (r) => r.map((rec) => ({ ...rec, indexType: CEL_TYPE.PCR, index: 14 })));
    await expectRefusal(challenge, await f.body(tampered, challenge), 'ERR_VERIFIER_CEL_INDEX_TYPE');
  });

  it('TPM evidence whose CEL names RTMR 3 (CC MR 4) → ERR_VERIFIER_CEL_INDEX_TYPE, naming PCR 13', async () => {
    const { challenge, evidence } = await fresh();
    const tampered = withCel(evidence, (r) => r.map((rec) => ({ ...rec, indexType: CEL_TYPE.CCMR, index: 4 })));
    const message = await expectRefusal(challenge, await f.body(tampered, challenge), 'ERR_VERIFIER_CEL_INDEX_TYPE');
    assert.match(message, /PCR 13/);
  });

  it('a debug boot sending a forged TCG log in a bank it did not quote → ERR_VERIFIER_EVENT_LOG_UNBOUND', async () => {
    const platform = await f.boot('confidential-space-debug');
    const challenge = await f.createChallenge();
    const evidence = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
    // Claims the hardened image in a SHA-512 bank the quotes never cover.
    const forged = encodeTcgEventLog(
      [TPM_ALG.SHA512],
      [kernelCmdlineEvent(softBootCmdline(LAUNCHER_BUILD, 'confidential-space'), [TPM_ALG.SHA512])],
    );
    await expectRefusal(
      challenge.name,
      await f.body({ ...evidence, tcgEventLog: forged }, challenge.name),
      'ERR_VERIFIER_EVENT_LOG_UNBOUND',
    );
  });

  it('a boot without Secure Boot, measuring the hardened command line → ERR_VERIFIER_SECURE_BOOT', async () => {
    const platform = await f.boot('confidential-space', f.ca, { secureBoot: false });
    const challenge = await f.createChallenge();
    const evidence = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
    await expectRefusal(challenge.name, await f.body(evidence, challenge.name), 'ERR_VERIFIER_SECURE_BOOT');
  });

  it('a boot of another launcher under the hardened command line → ERR_VERIFIER_BOOT_APPLICATIONS', async () => {
    const images = [Buffer.from('Sealroom soft boot loader 1'), Buffer.from('a launcher that leaks')];
    const platform = await f.boot('confidential-space', f.ca, { bootImages: images });
    const challenge = await f.createChallenge();
    const evidence = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
    await expectRefusal(challenge.name, await f.body(evidence, challenge.name), 'ERR_VERIFIER_BOOT_APPLICATIONS');
  });

  it('no canonical event log → ERR_VERIFIER_MISSING_LAUNCH_EVENTS', async () => {
    const { challenge, evidence } = await fresh();
    const tampered = { ...evidence, canonicalEventLog: new Uint8Array(0) };
    await expectRefusal(challenge, await f.body(tampered, challenge), 'ERR_VERIFIER_MISSING_LAUNCH_EVENTS');
  });

  it('an AK certificate from another CA → ERR_VERIFIER_UNTRUSTED_PLATFORM', async () => {
    const platform = await f.boot('confidential-space', createPlatformCa(f.clock.now()));
    const challenge = await f.createChallenge();
    const evidence = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
    await expectRefusal(challenge.name, await f.body(evidence, challenge.name), 'ERR_VERIFIER_UNTRUSTED_PLATFORM');
  });

  it('a service-account token for another audience → ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN', async () => {
    const { challenge, evidence } = await fresh();
    const body = {
      ...(await f.body(evidence, challenge)),
      gcpCredentials: { serviceAccountIdTokens: [await f.signSaToken('https://someone-else.example')] },
    };
    await expectRefusal(challenge, body, 'ERR_VERIFIER_SERVICE_ACCOUNT_TOKEN');
  });

  it('too many nonces → ERR_VERIFIER_TOKEN_OPTIONS', async () => {
    const { challenge, evidence } = await fresh();
    const body = { ...(await f.body(evidence, challenge)), options: { nonce: Array(7).fill('0123456789') } };
    await expectRefusal(challenge, body, 'ERR_VERIFIER_TOKEN_OPTIONS');
  });

  it('a nonce shorter than 8 bytes → ERR_VERIFIER_TOKEN_OPTIONS', async () => {
    const { challenge, evidence } = await fresh();
    const body = { ...(await f.body(evidence, challenge)), options: { nonce: ['short'] } };
    await expectRefusal(challenge, body, 'ERR_VERIFIER_TOKEN_OPTIONS');
  });

  it('a truncated TDX quote beside the vTPM → ERR_VERIFIER_MALFORMED_EVIDENCE', async () => {
    const { challenge, evidence } = await fresh();
    const body = { ...(await f.body(evidence, challenge)), tdCcel: { tdQuote: 'AAAA' } };
    await expectRefusal(challenge, body, 'ERR_VERIFIER_MALFORMED_EVIDENCE');
  });

  it('GPU evidence → ERR_VERIFIER_UNSUPPORTED_EVIDENCE', async () => {
    const { challenge, evidence } = await fresh();
    const body = { ...(await f.body(evidence, challenge)), nvidiaAttestation: {} };
    await expectRefusal(challenge, body, 'ERR_VERIFIER_UNSUPPORTED_EVIDENCE');
  });

  it('an unknown request field → 400 naming it', async () => {
    const { challenge, evidence } = await fresh();
    const res = await f.verify(challenge, { ...(await f.body(evidence, challenge)), surprise: 1 });
    assert.equal(res.status, 400);
    assert.match(res.json.error.message, /Unknown name "surprise"/);
  });

  it('a debug image asking for STABLE → ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES', () => {
    const [hardened, debug] = softImageEntries(`sha256:${'1'.repeat(64)}`, '261100');
    assert.throws(
      () => createImageDatabase([hardened!, { ...debug!, supportAttributes: ['STABLE'] }]),
      (error: unknown) => error instanceof VerifierError && error.code === 'ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES',
    );
  });

  it('a debug boot whose image entry claims STABLE → ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES', async () => {
    const debugEntry = softImageEntry(LAUNCHER_BUILD, 'confidential-space-debug', '261100', 'mislabelled-debug');
    const g = await createFixture({
      images: [
        {
          ...debugEntry,
          isHardened: true,
          supportAttributes: ['STABLE'],
          secureBootDb: [...debugEntry.secureBootDb],
          bootApplications: { sha256: [...debugEntry.bootApplications.sha256!] },
          launchMeasurements: [...(debugEntry.launchMeasurements ?? [])],
        },
      ],
    });
    try {
      const platform = await g.boot('confidential-space-debug');
      const challenge = await g.createChallenge();
      const evidence = (await platform.attest(Buffer.from(challenge.tpmNonce, 'base64'))).tpm;
      const res = await g.verify(challenge.name, await g.body(evidence, challenge.name));
      assert.equal(res.status, 400);
      assert.equal(res.json.error.details[0].reason, 'ERR_VERIFIER_DEBUG_SUPPORT_ATTRIBUTES');
    } finally {
      await g.app.close();
      await g.t.close();
    }
  });

  it('the audit log records each refusal with its code', async () => {
    const { challenge, evidence } = await fresh();
    await f.verify(challenge, await f.body(evidence, challenge));
    await expectRefusal(challenge, await f.body(evidence, challenge), 'ERR_VERIFIER_CHALLENGE_USED');
    const entries = await f.t.deps.audit.list(f.projectNumber, { pageSize: 500, newestFirst: true });
    const text = JSON.stringify(entries.map((e) => e.body));
    assert.match(text, /ERR_VERIFIER_CHALLENGE_USED/);
    assert.match(text, /VerifyAttestation/);
  });
});
