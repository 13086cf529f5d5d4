// Contributions sealed by a client open only in the workload, for the named collaborator and id.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ATTR_COLLABORATOR,
  ATTR_CONTRIBUTION_ID,
  createContributionSealer,
  openContribution,
  parseContribution,
} from './contribution.ts';
import { createFakeKms, keysFor } from './test-support.ts';

const KEY1 = 'projects/c1/locations/global/keyRings/kr1/cryptoKeys/key1';
const KEY2 = 'projects/c2/locations/global/keyRings/kr1/cryptoKeys/key1';

describe('contributions', () => {
  for (const mode of ['envelope', 'kms'] as const) {
    it(`round-trips a word in ${mode} mode`, async () => {
      const kms = createFakeKms();
      const sealer = createContributionSealer({ collaborator: 'c1', wrapper: kms.wrapperFor(KEY1), mode });
      const wire = await sealer.seal('alice');
      const contribution = parseContribution(wire.attributes, wire.data);
      assert.equal(contribution.mode, mode);
      assert.equal(await openContribution(contribution, keysFor('c1', kms.wrapperFor(KEY1))), 'alice');
      assert.ok(!wire.data.includes(Buffer.from('alice')));
    });
  }

  it('wraps one data key per batch in envelope mode and calls KMS per message in kms mode', async () => {
    const kms = createFakeKms();
    const envelope = createContributionSealer({ collaborator: 'c1', wrapper: kms.wrapperFor(KEY1), mode: 'envelope' });
    for (const word of ['a', 'b', 'c']) await envelope.seal(word);
    assert.equal(kms.calls.wrap, 1);
    const perMessage = createContributionSealer({ collaborator: 'c1', wrapper: kms.wrapperFor(KEY1), mode: 'kms' });
    for (const word of ['a', 'b', 'c']) await perMessage.seal(word);
    assert.equal(kms.calls.wrap, 4);
  });

  const tamperings: [string, (a: Record<string, string>, d: Buffer) => [Record<string, string>, Buffer]][] = [
    ['another contribution id', (a, d) => [{ ...a, [ATTR_CONTRIBUTION_ID]: 'other' }, d]],
    ['another collaborator name', (a, d) => [{ ...a, [ATTR_COLLABORATOR]: 'c2' }, d]],
    [
      'a changed ciphertext byte',
      (a, d) => {
        const body = JSON.parse(d.toString()) as { k: string; c: string };
        const c = Buffer.from(body.c, 'base64');
        c[c.length - 1] = (c[c.length - 1] ?? 0) ^ 1;
        return [a, Buffer.from(JSON.stringify({ ...body, c: c.toString('base64') }))];
      },
    ],
  ];
  for (const [what, tamper] of tamperings) {
    it(`refuses ${what}`, async () => {
      const kms = createFakeKms();
      const wire = await createContributionSealer({
        collaborator: 'c1',
        wrapper: kms.wrapperFor(KEY1),
        mode: 'envelope',
      }).seal('alice');
      const [attributes, data] = tamper(wire.attributes, wire.data);
      await assert.rejects(openContribution(parseContribution(attributes, data), keysFor('c1', kms.wrapperFor(KEY1))), {
        code: 'ERR_WORDCOUNT_DECRYPT_FAILED',
      });
    });
  }

  it('refuses a contribution sealed under another collaborator’s key', async () => {
    const kms = createFakeKms();
    const wire = await createContributionSealer({
      collaborator: 'c1',
      wrapper: kms.wrapperFor(KEY2),
      mode: 'kms',
    }).seal('x');
    await assert.rejects(
      openContribution(parseContribution(wire.attributes, wire.data), keysFor('c1', kms.wrapperFor(KEY1))),
      {
        code: 'ERR_WORDCOUNT_DECRYPT_FAILED',
      },
    );
  });

  it('refuses messages without attributes or with an unknown mode', () => {
    assert.throws(() => parseContribution(undefined, Buffer.from('x')), { code: 'ERR_WORDCOUNT_BAD_MESSAGE' });
    assert.throws(
      () => parseContribution({ collaborator: 'c1', contribution_id: '1', mode: 'raw' }, Buffer.from('x')),
      {
        code: 'ERR_WORDCOUNT_BAD_MESSAGE',
      },
    );
  });
});
