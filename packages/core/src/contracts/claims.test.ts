// The claims contract: the shared schema kept by addition only, round trips, and precise refusals.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { toBase64Url } from '../base64.ts';
import { outputPolicyDigest } from '../output-policy.ts';
import { resolveSharedDir } from '../shared-dir.ts';
import {
  type Claims,
  claimOf,
  decodeClaims,
  decodeClaimsPayload,
  encodeClaims,
  parseClaims,
  sealroomClaimsOf,
} from './claims.ts';
import { CLAIMS_SCHEMA } from './claims.schema.ts';
import { ContractError } from './errors.ts';
import { SCHEMA_KEYWORDS } from './json-schema.ts';

const contracts = join(resolveSharedDir(), 'contracts');
const sharedSchema: unknown = JSON.parse(readFileSync(join(contracts, 'token-claims.schema.json'), 'utf8'));
const example: unknown = JSON.parse(readFileSync(join(contracts, 'token-claims.example.json'), 'utf8'));

/** An ajv of its own per schema: both carry the same `$id`. */
function compile(schema: object) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(structuredClone(schema));
}
const validateShared = compile(sharedSchema as object);
const validateOurs = compile(CLAIMS_SCHEMA);

/** Where `extended` drops or changes something of `base` (objects may gain members; everything else is equal). */
function departures(base: unknown, extended: unknown, path = '$'): string[] {
  if (base !== null && typeof base === 'object' && !Array.isArray(base)) {
    if (extended === null || typeof extended !== 'object' || Array.isArray(extended)) return [path];
    return Object.entries(base).flatMap(([key, value]) =>
      departures(value, (extended as Record<string, unknown>)[key], `${path}.${key}`),
    );
  }
  return JSON.stringify(base) === JSON.stringify(extended) ? [] : [path];
}

function keywordsOf(schema: unknown, out = new Set<string>()): Set<string> {
  if (schema === null || typeof schema !== 'object') return out;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties') for (const member of Object.values(value as object)) keywordsOf(member, out);
    else {
      out.add(key);
      if (Array.isArray(value)) for (const branch of value) keywordsOf(branch, out);
      else keywordsOf(value, out);
    }
  }
  return out;
}

const exampleClaims = (): Claims => parseClaims(structuredClone(example));

function refusal(value: unknown, code: string, path: string): void {
  assert.throws(
    () => parseClaims(value),
    (error: unknown) => {
      assert.ok(error instanceof ContractError, String(error));
      assert.equal(error.code, code);
      assert.equal(error.path, path);
      return true;
    },
  );
}

/** The example claims with one member replaced (or removed, for undefined) at a dotted path. */
function withClaim(path: string, value: unknown): unknown {
  const claims = structuredClone(example) as Record<string, unknown>;
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = claims;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return claims;
}

describe('the claims schema', () => {
  it('is the shared contract schema, extended only by addition', () => {
    assert.deepEqual(departures(sharedSchema, CLAIMS_SCHEMA), []);
  });

  it('adds submods.sealroom and submods.sealroom_trust, nothing else a shared-schema reader would see changed', () => {
    const added = Object.keys(CLAIMS_SCHEMA.properties?.submods?.properties ?? {}).filter(
      (key) =>
        !Object.hasOwn(
          (sharedSchema as { properties: { submods: { properties: object } } }).properties.submods.properties,
          key,
        ),
    );
    assert.deepEqual(added, ['sealroom', 'sealroom_trust']);
  });

  it('reads the deployment CA digest of submods.sealroom_trust and refuses one that is not sha256:', () => {
    const base = example as { submods: Record<string, unknown> };
    const digest = `sha256:${'b'.repeat(64)}`;
    const withTrust = { ...base, submods: { ...base.submods, sealroom_trust: { deployment_ca_digest: digest } } };
    assert.equal(parseClaims(withTrust).submods.sealroom_trust?.deployment_ca_digest, digest);
    assert.equal(validateShared(withTrust), true);
    const bad = { ...base, submods: { ...base.submods, sealroom_trust: { deployment_ca_digest: 'md5:x' } } };
    assert.throws(() => parseClaims(bad), ContractError);
  });

  it('uses only keywords the validator understands', () => {
    const unknown = [...keywordsOf(CLAIMS_SCHEMA)].filter((k) => !SCHEMA_KEYWORDS.includes(k));
    assert.deepEqual(unknown, []);
  });

  it('accepts the shared example, as ajv does with both schemas', () => {
    assert.equal(validateShared(example), true);
    assert.equal(validateOurs(example), true);
    assert.doesNotThrow(() => parseClaims(example));
  });
});

describe('parseClaims', () => {
  it('returns a copy the caller cannot change through its input', () => {
    const input = structuredClone(example) as { submods: { gce: { zone: string } } };
    const claims = parseClaims(input);
    input.submods.gce.zone = 'elsewhere';
    assert.equal(claims.submods.gce.zone, 'us-central1-a');
  });

  it('keeps claims the contract does not name, for policies that read them', () => {
    const claims = parseClaims({ ...(structuredClone(example) as object), attester_tcb: ['x'] });
    assert.deepEqual((claims as unknown as Record<string, unknown>).attester_tcb, ['x']);
  });

  it('names the missing claim', () => {
    refusal(withClaim('iss', undefined), 'ERR_CLAIMS_MISSING', 'iss');
    refusal(withClaim('submods.gce.zone', undefined), 'ERR_CLAIMS_MISSING', 'submods.gce.zone');
    refusal(
      withClaim('submods.container.cmd_override', undefined),
      'ERR_CLAIMS_MISSING',
      'submods.container.cmd_override',
    );
  });

  it('names the invalid claim and the rule, never its value', () => {
    refusal(
      withClaim('submods.container.image_digest', 'sha256:short'),
      'ERR_CLAIMS_INVALID',
      'submods.container.image_digest',
    );
    refusal(withClaim('dbgstat', 'enable'), 'ERR_CLAIMS_INVALID', 'dbgstat');
    refusal(withClaim('submods.container.cmd_override', null), 'ERR_CLAIMS_INVALID', 'submods.container.cmd_override');
    refusal(withClaim('submods.container.args', ['ok', 3]), 'ERR_CLAIMS_INVALID', 'submods.container.args[1]');
    refusal(withClaim('submods.gce.project_number', 123), 'ERR_CLAIMS_INVALID', 'submods.gce.project_number');
    refusal(withClaim('eat_nonce', ['1', '2', '3', '4', '5', '6', '7']), 'ERR_CLAIMS_INVALID', 'eat_nonce');
    refusal(withClaim('iat', 1.5), 'ERR_CLAIMS_INVALID', 'iat');
    assert.throws(
      () => parseClaims(withClaim('swversion', ['secret-value'])),
      (e: Error) => !e.message.includes('secret'),
    );
    assert.throws(
      () => parseClaims(withClaim('google_service_accounts', ['not-an-email-secret'])),
      (e: Error) => e instanceof ContractError && e.code === 'ERR_CLAIMS_INVALID' && !e.message.includes('secret'),
    );
  });

  it('refuses support attributes on a debug image (the shared schema’s if/then)', () => {
    const debug = withClaim('dbgstat', 'enabled');
    refusal(debug, 'ERR_CLAIMS_INVALID', 'submods.confidential_space.support_attributes');
    (
      debug as { submods: { confidential_space: { support_attributes: string[] } } }
    ).submods.confidential_space.support_attributes = [];
    assert.equal(parseClaims(debug).dbgstat, 'enabled');
  });

  it('refuses a value that is not an object', () => {
    for (const value of [null, [], 'claims', 3]) refusal(value, 'ERR_CLAIMS_MALFORMED', '');
  });

  it('checks the output policy of submods.sealroom by its own rules', () => {
    const policy = { min_collaborators: 2, min_count: 1 };
    const sealroom = { output_policy: policy, output_policy_digest: outputPolicyDigest(policy) };
    assert.deepEqual(parseClaims(withClaim('submods.sealroom', sealroom)).submods.sealroom, sealroom);
    refusal(withClaim('submods.sealroom', { ...sealroom, extra: 1 }), 'ERR_CLAIMS_INVALID', 'submods.sealroom.extra');
    refusal(
      withClaim('submods.sealroom', { output_policy: policy }),
      'ERR_CLAIMS_MISSING',
      'submods.sealroom.output_policy_digest',
    );
    const overspent = {
      ...policy,
      dp: { mechanism: 'laplace', epsilon: 2, delta: 0.1, budget_epsilon: 1, budget_delta: 0.2 },
    };
    refusal(
      withClaim('submods.sealroom', { ...sealroom, output_policy: overspent }),
      'ERR_CLAIMS_INVALID',
      'submods.sealroom.output_policy',
    );
  });

  it('agrees with ajv on the schema for any one-member change of the example', () => {
    const paths = [
      'iss',
      'aud',
      'iat',
      'eat_nonce',
      'secboot',
      'oemid',
      'hwmodel',
      'swname',
      'swversion',
      'dbgstat',
      'google_service_accounts',
      'submods.container.image_reference',
      'submods.container.restart_policy',
      'submods.container.env',
      'submods.container.image_signatures',
      'submods.gce.instance_id',
      'submods.confidential_space.support_attributes',
      'submods.confidential_space.monitoring_enabled',
      'submods.nvidia_gpu',
    ];
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(undefined, null, true, 0, 1.5, '', 'enabled', 'STABLE', 'sha256:', `${'a'.repeat(64)}`, 'x@y'),
        fc.string({ maxLength: 8 }),
        fc.integer(),
        fc.array(tie('value'), { maxLength: 7 }),
        fc.dictionary(fc.constantFrom('memory', 'cc_mode', 'key_id', 'A'), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.constantFrom(...paths), json, (path, value) => {
        const candidate = withClaim(path, value);
        let ours = true;
        try {
          parseClaims(candidate);
        } catch (error) {
          assert.ok(error instanceof ContractError);
          ours = false;
        }
        assert.equal(ours, validateOurs(candidate), `${path} = ${JSON.stringify(value)}`);
      }),
      { numRuns: 400, seed: 13 },
    );
  });
});

describe('encodeClaims and decodeClaims', () => {
  it('round-trip: decoding an encoded payload gives the same claims', () => {
    const claims = exampleClaims();
    const token = `${toBase64Url(Buffer.from('{"alg":"RS256"}'))}.${toBase64Url(Buffer.from(encodeClaims(claims)))}.c2ln`;
    assert.deepEqual(decodeClaims(token), claims);
    assert.deepEqual(JSON.parse(encodeClaims(claims)), example);
  });

  it('refuses to encode claims that break the contract', () => {
    const claims = exampleClaims();
    const broken: Claims = { ...claims, swversion: [] };
    assert.throws(() => encodeClaims(broken), { code: 'ERR_CLAIMS_INVALID' });
  });

  it('refuses what is not a compact JWT with a JSON object payload', () => {
    assert.throws(() => decodeClaims('a.b'), { code: 'ERR_CLAIMS_MALFORMED' });
    assert.throws(() => decodeClaims(`x.${toBase64Url(Buffer.from('{'))}.y`), { code: 'ERR_CLAIMS_MALFORMED' });
    assert.throws(() => decodeClaims(`x.${toBase64Url(Buffer.from('[1]'))}.y`), { code: 'ERR_CLAIMS_MALFORMED' });
  });
});

describe('sealroomClaimsOf (explaining tokens that may break the contract)', () => {
  const policy = { min_collaborators: 2, min_count: 5 };

  it('reads the output policy of a payload the full contract refuses, and a well-formed digest', () => {
    const digest = outputPolicyDigest(policy);
    const token = `e30.${toBase64Url(Buffer.from(JSON.stringify({ submods: { sealroom: { output_policy: policy, output_policy_digest: digest } } })))}.c2ln`;
    assert.throws(() => decodeClaims(token), { code: 'ERR_CLAIMS_MISSING' });
    assert.deepEqual(sealroomClaimsOf(decodeClaimsPayload(token)), { policy, digest });
  });

  it('leaves out a malformed digest, and says nothing without a policy', () => {
    assert.deepEqual(
      sealroomClaimsOf({ submods: { sealroom: { output_policy: policy, output_policy_digest: 'sha256:00' } } }),
      {
        policy,
      },
    );
    assert.equal(sealroomClaimsOf({ submods: {} }), undefined);
    assert.equal(sealroomClaimsOf('not claims'), undefined);
  });

  it('refuses a policy that breaks its rules', () => {
    assert.throws(() => sealroomClaimsOf({ submods: { sealroom: { output_policy: { min_collaborators: 0 } } } }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});

describe('claimOf', () => {
  it('reads one claim by dotted path from any payload, undefined when absent', () => {
    assert.equal(claimOf(example, 'submods.gce.zone'), 'us-central1-a');
    assert.equal(claimOf({ exp: 5 }, 'exp'), 5);
    assert.equal(claimOf({ exp: 5 }, 'submods.gce.zone'), undefined);
    assert.equal(claimOf([1], '0'), undefined);
    assert.equal(claimOf({}, '__proto__'), undefined);
  });
});
