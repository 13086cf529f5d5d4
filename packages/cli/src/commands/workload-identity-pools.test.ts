// The seed's gcloud lines for pools and OIDC providers, and `sealroom policy explain`, against a live server.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type CliTestBed, startCliTestBed } from '../testing.ts';
import { parseDictFlag } from './workload-identity-pools.ts';

let dir: string;

let bed: CliTestBed;
const cli = (...argv: string[]) => bed.cli(...argv);

before(async () => {
  bed = await startCliTestBed({ name: 'wip' });
  ({ dir } = bed);
  assert.equal((await cli('auth', 'login', 'collab@example.com')).code, 0);
  assert.equal((await cli('projects', 'create', 'collab-1')).code, 0);
});

after(() => bed.close());

it('splits --attribute-mapping at top-level commas only', () => {
  assert.deepEqual(parseDictFlag('google.subject="a,b"+assertion.sub,attribute.x=f(a, b)'), {
    'google.subject': '"a,b"+assertion.sub',
    'attribute.x': 'f(a, b)',
  });
});

it("runs the seed's pool and provider commands and explains a token clause by clause", async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }] }));
  const created = await cli(
    'iam',
    'workload-identity-pools',
    'create',
    'trusted-workload-pool',
    '--location=global',
    '--project=collab-1',
  );
  assert.equal(created.code, 0, created.stderr);
  const provider = await cli(
    'iam',
    'workload-identity-pools',
    'providers',
    'create-oidc',
    'attestation-verifier',
    '--location=global',
    '--workload-identity-pool=trusted-workload-pool',
    '--issuer-uri=https://verifier.example/',
    '--allowed-audiences=https://sts.googleapis.com',
    '--attribute-mapping=google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest',
    "--attribute-condition=assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes",
    `--jwk-json-path=${jwks}`,
    '--project=collab-1',
    '--format=json',
  );
  assert.equal(provider.code, 0, provider.stderr);
  assert.equal(JSON.parse(provider.stdout).oidc.issuerUri, 'https://verifier.example/');
  const listed = await cli(
    'iam',
    'workload-identity-pools',
    'list',
    '--location=global',
    '--project=collab-1',
    '--format=value(name)',
  );
  assert.match(listed.stdout, /workloadIdentityPools\/trusted-workload-pool/);
  const updated = await cli(
    'iam',
    'workload-identity-pools',
    'providers',
    'update-oidc',
    'attestation-verifier',
    '--location=global',
    '--workload-identity-pool=trusted-workload-pool',
    '--attribute-condition=assertion.swname == "CONFIDENTIAL_SPACE"',
    '--project=collab-1',
    '--format=value(attributeCondition)',
  );
  assert.equal(updated.stdout.trim(), 'assertion.swname == "CONFIDENTIAL_SPACE"');
  const now = Math.floor(Date.now() / 1000);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${b64({ alg: 'ES256', kid: 'k1', typ: 'JWT' })}.${b64({
    iss: 'https://verifier.example',
    sub: 'vm1',
    aud: 'https://sts.googleapis.com',
    iat: now,
    exp: now + 600,
    swname: 'GCE',
    submods: { container: { image_digest: 'sha256:abc' } },
  })}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const token = `${signingInput}.${signature.toString('base64url')}`;
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, token);
  const described = await cli('projects', 'describe', 'collab-1', '--format=value(projectNumber)');
  const member = `principalSet://iam.googleapis.com/projects/${described.stdout.trim()}/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_digest/sha256:abc`;
  const bound = await cli(
    'projects',
    'add-iam-policy-binding',
    'collab-1',
    `--member=${member}`,
    '--role=roles/iam.workloadIdentityPoolViewer',
  );
  assert.equal(bound.code, 0, bound.stderr);
  const explained = await cli(
    'policy',
    'explain',
    '--provider=attestation-verifier',
    '--workload-identity-pool=trusted-workload-pool',
    `--token=${tokenFile}`,
    '--resource=projects/collab-1',
    '--permissions=iam.workloadIdentityPools.get',
    '--project=collab-1',
  );
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /token verification: PASS/);
  assert.match(explained.stdout, /\[FAIL\] 1:1 {2}assertion.swname == "CONFIDENTIAL_SPACE"/);
  assert.match(explained.stdout, /result: DENIED/);
  assert.match(explained.stdout, /attribute.image_digest\/sha256:abc/);
  assert.ok(explained.stdout.includes(`binding roles/iam.workloadIdentityPoolViewer via ${member}`), explained.stdout);
  assert.match(explained.stdout, /ALLOWED iam.workloadIdentityPools.get/);
  const deleted = await cli(
    'iam',
    'workload-identity-pools',
    'delete',
    'trusted-workload-pool',
    '--location=global',
    '--project=collab-1',
  );
  assert.equal(deleted.code, 0, deleted.stderr);
});

it('policy explain shows the output policy in the token and the clauses of the condition that hold it', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = join(dir, 'jwks-output.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k2', alg: 'ES256' }] }));
  assert.equal(
    (await cli('iam', 'workload-identity-pools', 'create', 'outputs', '--location=global', '--project=collab-1')).code,
    0,
  );
  const provider = (name: string, condition: string) =>
    cli(
      'iam',
      'workload-identity-pools',
      'providers',
      'create-oidc',
      name,
      '--location=global',
      '--workload-identity-pool=outputs',
      '--issuer-uri=https://verifier.example/',
      '--allowed-audiences=https://sts.googleapis.com',
      '--attribute-mapping=google.subject=assertion.sub',
      `--attribute-condition=${condition}`,
      `--jwk-json-path=${jwks}`,
      '--project=collab-1',
    );
  assert.equal(
    (
      await provider(
        'pinned',
        "assertion.swname == 'CONFIDENTIAL_SPACE' && assertion.submods.sealroom.output_policy.min_collaborators >= 2",
      )
    ).code,
    0,
  );
  assert.equal((await provider('loose', "assertion.swname == 'CONFIDENTIAL_SPACE'")).code, 0);
  const now = Math.floor(Date.now() / 1000);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${b64({ alg: 'ES256', kid: 'k2', typ: 'JWT' })}.${b64({
    iss: 'https://verifier.example',
    sub: 'vm1',
    aud: 'https://sts.googleapis.com',
    iat: now,
    exp: now + 600,
    swname: 'CONFIDENTIAL_SPACE',
    submods: { sealroom: { output_policy: { min_collaborators: 2, min_count: 5 }, output_policy_digest: 'sha256:00' } },
  })}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const tokenFile = join(dir, 'token-output');
  writeFileSync(tokenFile, `${signingInput}.${signature.toString('base64url')}`);
  const explain = (name: string, ...extra: string[]) =>
    cli(
      'policy',
      'explain',
      `--provider=${name}`,
      '--workload-identity-pool=outputs',
      `--token=${tokenFile}`,
      '--project=collab-1',
      ...extra,
    );
  const pinned = await explain('pinned');
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.match(
    pinned.stdout,
    /output policy: a value is released only if at least 2 distinct collaborator\(s\) contributed to it; and its count is at least 5; counts are exact/,
  );
  assert.match(
    pinned.stdout,
    /your condition requires \[PASS\] assertion\.submods\.sealroom\.output_policy\.min_collaborators >= 2/,
  );
  assert.doesNotMatch(pinned.stdout, /does not constrain the output policy/);
  const loose = await explain('loose');
  assert.match(loose.stdout, /WARNING: the condition does not constrain the output policy/);
  const json = JSON.parse((await explain('pinned', '--format=json')).stdout) as {
    outputPolicy: { policy: unknown; clauses: unknown[] };
  };
  assert.deepEqual(json.outputPolicy.policy, { min_collaborators: 2, min_count: 5 });
  assert.equal(json.outputPolicy.clauses.length, 1);
});
