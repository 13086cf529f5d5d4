// WIF rules around CEL: mapping outputs and limits, condition error → deny, the failing clause.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CEL_COST_LIMITS } from './limits.ts';
import { compileProviderPolicy, WIF_LIMITS } from './wif.ts';

const CONDITION =
  "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes";
const MAPPING = {
  'google.subject':
    '"gcpcs::"+assertion.submods.container.image_digest+"::"+assertion.submods.gce.project_number+"::"+assertion.submods.gce.instance_id',
  'attribute.image_digest': 'assertion.submods.container.image_digest',
};

function token(): Record<string, unknown> {
  return {
    sub: 'https://www.googleapis.com/compute/v1/projects/op/zones/us-central1-a/instances/vm1',
    swname: 'CONFIDENTIAL_SPACE',
    oemid: 11129,
    google_service_accounts: ['sa@op.iam.gserviceaccount.com'],
    submods: {
      container: { image_digest: 'sha256:abc', env_override: null, cmd_override: null },
      gce: { project_id: 'op', project_number: '123456789012', instance_id: '7333251546816446069' },
      confidential_space: { support_attributes: ['LATEST', 'STABLE', 'USABLE'] },
    },
  };
}

describe('compileProviderPolicy', () => {
  it('maps the seed mapping and accepts a matching token', () => {
    const decision = compileProviderPolicy({ attributeMapping: MAPPING, attributeCondition: CONDITION }).decide(
      token(),
    );
    assert.equal(decision.granted, true);
    assert.deepEqual(decision.identity, {
      subject: 'gcpcs::sha256:abc::123456789012::7333251546816446069',
      groups: [],
      attributes: { image_digest: 'sha256:abc' },
    });
  });

  it('names the failing clause when the condition is false', () => {
    const claims = token();
    (claims.submods as { confidential_space: unknown }).confidential_space = { support_attributes: ['USABLE'] };
    const decision = compileProviderPolicy({ attributeMapping: MAPPING, attributeCondition: CONDITION }).decide(claims);
    assert.equal(decision.granted, false);
    if (!decision.granted) {
      assert.equal(decision.denial.stage, 'condition');
      assert.equal(decision.denial.clause?.index, 1);
      assert.equal(decision.denial.clause?.text, "'STABLE' in assertion.submods.confidential_space.support_attributes");
    }
  });

  it('denies when the condition errors (size of a null override)', () => {
    const decision = compileProviderPolicy({
      attributeMapping: { 'google.subject': 'assertion.sub' },
      attributeCondition: 'size(assertion.submods.container.cmd_override) == 0',
    }).decide(token());
    assert.equal(decision.granted, false);
    if (!decision.granted) assert.match(decision.denial.reason, /failed to evaluate/);
  });

  it('lets the condition read google.subject and attribute values', () => {
    const decision = compileProviderPolicy({
      attributeMapping: MAPPING,
      attributeCondition: "google.subject.startsWith('gcpcs::') && attribute.image_digest == 'sha256:abc'",
    }).decide(token());
    assert.equal(decision.granted, true);
  });

  it('accepts every credential when the condition is empty', () => {
    const decision = compileProviderPolicy({ attributeMapping: { 'google.subject': 'assertion.sub' } }).decide(token());
    assert.equal(decision.granted, true);
  });

  const mappingDenials: Array<[string, Record<string, string>, RegExp]> = [
    ['a subject over 127 bytes', { 'google.subject': 'assertion.sub + assertion.sub' }, /127/],
    ['a non-string subject', { 'google.subject': 'assertion.oemid' }, /must return a string/],
    ['a subject from a missing claim', { 'google.subject': 'assertion.nope' }, /failed to evaluate/],
    [
      'groups that are not a list of strings',
      { 'google.subject': 'assertion.sub', 'google.groups': 'assertion.swname' },
      /list of strings/,
    ],
    [
      'a custom attribute that is not a string',
      { 'google.subject': 'assertion.sub', 'attribute.n': 'assertion.oemid' },
      /must return a string/,
    ],
  ];
  for (const [what, attributeMapping, reason] of mappingDenials) {
    it(`denies a mapping producing ${what}`, () => {
      const decision = compileProviderPolicy({ attributeMapping }).decide(token());
      assert.equal(decision.granted, false);
      if (!decision.granted) {
        assert.equal(decision.denial.stage, 'mapping');
        assert.match(decision.denial.reason, reason);
      }
    });
  }

  it('denies mapped attributes over 8 KB in total', () => {
    const attributeMapping: Record<string, string> = { 'google.subject': 'assertion.sub' };
    for (let i = 0; i < 9; i++) attributeMapping[`attribute.a${i}`] = 'assertion.big';
    const decision = compileProviderPolicy({ attributeMapping }).decide({ ...token(), big: 'x'.repeat(1000) });
    assert.equal(decision.granted, false);
  });

  const configErrors: Array<[string, Record<string, string>, string | undefined, string]> = [
    ['a missing google.subject', { 'attribute.a': 'assertion.sub' }, undefined, 'ERR_CEL_MAPPING_LIMIT'],
    [
      'an upper-case attribute name',
      { 'google.subject': 'assertion.sub', 'attribute.A': 'x' },
      undefined,
      'ERR_CEL_MAPPING_KEY',
    ],
    [
      'an unknown google key',
      { 'google.subject': 'assertion.sub', 'google.name': 'x' },
      undefined,
      'ERR_CEL_MAPPING_KEY',
    ],
    [
      'a condition over 4096 characters',
      { 'google.subject': 'assertion.sub' },
      `true${' && true'.repeat(600)}`,
      'ERR_CEL_TOO_LONG',
    ],
    ['a condition that does not parse', { 'google.subject': 'assertion.sub' }, 'assertion.swname ==', 'ERR_CEL_SYNTAX'],
  ];
  for (const [what, attributeMapping, attributeCondition, code] of configErrors) {
    it(`refuses at configuration time ${what}`, () => {
      assert.throws(() => compileProviderPolicy({ attributeMapping, attributeCondition }), { code });
    });
  }

  it('refuses more than 50 custom attributes', () => {
    const attributeMapping: Record<string, string> = { 'google.subject': 'assertion.sub' };
    for (let i = 0; i < 51; i++) attributeMapping[`attribute.a${i}`] = 'assertion.sub';
    assert.throws(() => compileProviderPolicy({ attributeMapping }), { code: 'ERR_CEL_MAPPING_LIMIT' });
  });
});

const DIGITS = '[0,1,2,3,4,5,6,7,8,9]';
/** The denial of service: six nested comprehensions over ten items (188 characters). */
const NESTED_COMPREHENSION = `${DIGITS}.all(a,${DIGITS}.all(b,${DIGITS}.all(c,${DIGITS}.all(d,${DIGITS}.all(e,${DIGITS}.all(f,a+b+c+d+e+f>=0))))))`;

describe('provider policy cost limits', () => {
  const SUBJECT = { 'google.subject': 'assertion.sub' };
  /** The image-signature condition Google's Confidential Space documentation gives. */
  const SIGNATURES =
    "['ECDSA_P256_SHA256:abc'].exists(f, f in assertion.submods.container.image_signatures.map(sig, sig.signature_algorithm + ':' + sig.key_id))";

  it("refuses the issue's nested comprehension as a condition, naming the estimate and the limit", () => {
    assert.throws(
      () => compileProviderPolicy({ attributeMapping: SUBJECT, attributeCondition: NESTED_COMPREHENSION }),
      (error: Error & { code?: string }) =>
        error.code === 'ERR_CEL_COST_ESTIMATE' &&
        /^attributeCondition has an estimated worst-case cost of \d+, above the limit of 1000000$/.test(error.message),
    );
  });

  it('refuses an expensive mapping expression, naming it', () => {
    assert.throws(
      () => compileProviderPolicy({ attributeMapping: { 'google.subject': `string(${NESTED_COMPREHENSION})` } }),
      /: mapping google\.subject has an estimated worst-case cost of \d+, above the limit of 1000000$/,
    );
  });

  it('refuses a mapping and condition that are each admitted but too costly together', () => {
    const pairs = 'assertion.google_service_accounts.exists(a, assertion.google_service_accounts.exists(b, a == b))';
    const policy = { attributeMapping: { ...SUBJECT, 'attribute.x': `string(${pairs})` }, attributeCondition: pairs };
    const measured = compileProviderPolicy(policy, { estimatedCostLimit: Number.POSITIVE_INFINITY });
    const costs = [...measured.mapping.values(), measured.condition].map((p) => p?.estimate.cost ?? 0);
    const limit = Math.ceil(Math.max(...costs)) + 1;
    assert.ok(measured.estimatedCost > limit);
    assert.throws(
      () => compileProviderPolicy(policy, { estimatedCostLimit: limit }),
      /: attributeMapping and attributeCondition together have an estimated worst-case cost of \d+, above the limit of \d+$/,
    );
  });

  it('admits the image-signature condition and the seed policy, whatever the claims hold', () => {
    const seed = compileProviderPolicy({ attributeMapping: MAPPING, attributeCondition: CONDITION });
    const signatures = compileProviderPolicy({ attributeMapping: MAPPING, attributeCondition: SIGNATURES });
    assert.ok(seed.estimatedCost < 100_000, String(seed.estimatedCost));
    assert.ok(signatures.estimatedCost < CEL_COST_LIMITS.estimated, String(signatures.estimatedCost));
    const claims = token();
    (claims.submods as { container: Record<string, unknown> }).container.image_signatures = [
      { signature_algorithm: 'ECDSA_P256_SHA256', key_id: 'abc' },
    ];
    assert.equal(signatures.decide(claims).granted, true);
  });

  it('denies, with the cost-limit code, a stored policy that runs out of budget, and does not explain it', () => {
    const policy = compileProviderPolicy(
      { attributeMapping: SUBJECT, attributeCondition: NESTED_COMPREHENSION },
      { estimatedCostLimit: Number.POSITIVE_INFINITY },
    );
    const decision = policy.decide(token(), { explain: true });
    assert.equal(decision.granted, false);
    if (!decision.granted) {
      assert.deepEqual(decision.denial, {
        stage: 'condition',
        expression: 'attributeCondition',
        reason: 'the attribute condition exceeded the evaluation cost limit',
        code: 'ERR_CEL_COST_LIMIT',
      });
      assert.deepEqual(decision.explanation?.clauses, []);
    }
  });

  it('denies with the cost-limit code when a mapping runs out of budget', () => {
    const policy = compileProviderPolicy(
      { attributeMapping: { 'google.subject': `string(${NESTED_COMPREHENSION})` } },
      { estimatedCostLimit: Number.POSITIVE_INFINITY },
    );
    const decision = policy.decide(token());
    assert.equal(decision.granted ? 'granted' : decision.denial.code, 'ERR_CEL_COST_LIMIT');
  });

  it('denies claims larger than the size the estimate assumes before evaluating anything', () => {
    const policy = compileProviderPolicy({ attributeMapping: SUBJECT });
    const big = { ...token(), padding: 'x'.repeat(WIF_LIMITS.assertionMaxChars) };
    const decision = policy.decide(big);
    assert.equal(decision.granted, false);
    if (!decision.granted) {
      assert.equal(decision.denial.expression, 'assertion');
      assert.match(decision.denial.reason, /the limit is 16384$/);
    }
    assert.equal(policy.decide(token()).granted, true);
  });
});
