// Inside an instance, Google's defaults work: google-auth-library's ADC finds the metadata server, gets the attached
// service account's token, and @google-cloud/pubsub lists and pulls with only the SDK's endpoint options.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliTestBed } from '@sealroom/cli/testing';
import {
  buildWorkloadImage,
  createSeedSubscription,
  grantOperatorServiceAccount,
  instancesCreateLine,
  isolationMissing,
  type Json,
  SA,
  startLaunchBed,
  waitFor,
  ZONE,
} from '../support/launch.ts';

const OTHER_SA = 'other-svc-account@operator-project.iam.gserviceaccount.com';

/** The workload: ADC and Pub/Sub with no credential or endpoint option but the SDK's one call. */
const ADC_WORKLOAD = `import { readFileSync } from 'node:fs';
import { PubSub } from '@google-cloud/pubsub';
import { googleClientOptions } from '@sealroom/workload';
import { GoogleAuth } from 'google-auth-library';

const report = (key, value) => console.log('ADC ' + JSON.stringify({ [key]: value }));
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
const auth = new GoogleAuth();
const client = await auth.getClient();
report('client', client.constructor.name);
report('projectId', await auth.getProjectId());
report('email', (await auth.getCredentials()).client_email);
const idClient = await auth.getIdTokenClient('https://workload.example');
const idToken = await idClient.idTokenProvider.fetchIdToken('https://workload.example');
const claims = claimsOf(idToken);
report('identity', { email: claims.email, aud: claims.aud });
report('hosts', readFileSync('/etc/hosts', 'utf8').includes('metadata.google.internal'));
const endpoints = JSON.parse(readFileSync('/run/sealroom/endpoints.json', 'utf8'));
report('endpoints', { version: endpoints.version, caDigest: endpoints.caDigest });
const token = readFileSync('/run/container_launcher/attestation_verifier_claims_token', 'utf8');
report('trust', claimsOf(token).submods.sealroom_trust);
try {
  const pubsub = new PubSub(googleClientOptions('pubsub'));
  const [subscriptions] = await pubsub.getSubscriptions();
  report('subscriptions', subscriptions.map((s) => s.name));
  const subscription = pubsub.subscription('cs-subscribe');
  const data = await new Promise((resolve, reject) => {
    subscription.on('message', (message) => { message.ack(); resolve(message.data.toString('utf8')); });
    subscription.on('error', reject);
  });
  report('pulled', data);
  await subscription.close();
  await pubsub.close();
} catch (error) {
  report('pubsubError', String(error.code ?? error.message));
}
`;

let bed: CliTestBed | undefined;
let imageRef: string;
const ok = (...argv: string[]) => (bed as CliTestBed).ok(...argv);
const serial = (name: string) => ok('compute', 'instances', 'get-serial-port-output', name, `--zone=${ZONE}`);

/** The ADC lines the workload printed, merged into one object. */
function adcReport(output: string): Json {
  const out: Json = {};
  for (const line of output.split('\n')) {
    const match = /workload stdout: ADC (.*)$/.exec(line);
    if (match?.[1]) Object.assign(out, JSON.parse(match[1]));
  }
  return out;
}

async function finished(name: string): Promise<string> {
  await waitFor(`${name} TERMINATED`, async () => {
    const vm = JSON.parse(await ok('compute', 'instances', 'describe', name, `--zone=${ZONE}`, '--format=json'));
    return vm.status === 'TERMINATED' ? vm : undefined;
  });
  return serial(name);
}

before(async () => {
  if (isolationMissing()) return;
  // Pub/Sub subscribers need gRPC: the deployment serves it on a port of its own.
  bed = await startLaunchBed('e2e-metadata-adc', { grpcPort: 0 });
  ({ imageRef } = await buildWorkloadImage(ok, {
    dir: join(bed.dir, 'adc-app'),
    registry: new URL(bed.server.url).host,
    repository: 'builder-project/repo1',
    name: 'adc',
    source: ADC_WORKLOAD,
    buildConfig: { launchPolicy: { log_redirect: 'always' } },
  }));
  await grantOperatorServiceAccount(bed);
  // The seed's Pub/Sub: a topic, the subscription, and the subscriber role for the instance's account on it.
  await createSeedSubscription(ok, `serviceAccount:${SA}`);
  await ok(
    'projects',
    'add-iam-policy-binding',
    'operator-project',
    `--member=serviceAccount:${SA}`,
    '--role=roles/pubsub.viewer',
  );
  await ok('pubsub', 'topics', 'publish', 'cs-topic', '--message=hello from alice');
  // Another account may pull the builder's images and attest, and nothing on Pub/Sub.
  await ok('iam', 'service-accounts', 'create', 'other-svc-account', '--project=operator-project');
  for (const [project, role] of [
    ['builder-project', 'roles/artifactregistry.reader'],
    ['operator-project', 'roles/confidentialcomputing.workloadUser'],
  ] as const)
    await ok('projects', 'add-iam-policy-binding', project, `--member=serviceAccount:${OTHER_SA}`, `--role=${role}`);
});

after(async () => {
  await bed?.close();
});

describe('Google defaults inside an instance', { skip: isolationMissing() }, () => {
  test('ADC is the attached service account: token, project, ID token; Pub/Sub lists and pulls', async () => {
    await ok(...instancesCreateLine('vm1', imageRef, 'tee-restart-policy=Never'));
    const output = await finished('vm1');
    const report = adcReport(output);
    assert.equal(report.client, 'Compute', output);
    assert.equal(report.projectId, 'operator-project');
    assert.equal(report.email, SA);
    assert.deepEqual(report.identity, { email: SA, aud: 'https://workload.example' });
    assert.equal(report.hosts, true);
    // The deployment CA the workload trusts is measured and in the token, as endpoints.json names it.
    const caDigest = `sha256:${createHash('sha256')
      .update((bed as CliTestBed).server.tls.caPem)
      .digest('hex')}`;
    assert.deepEqual(report.endpoints, { version: 1, caDigest });
    assert.deepEqual(report.trust, { deployment_ca_digest: caDigest });
    assert.deepEqual(report.subscriptions, ['projects/operator-project/subscriptions/cs-subscribe'], output);
    assert.equal(report.pulled, 'hello from alice', output);
    // In its own namespace the instance's metadata server is on its gateway and admits the instance address
    // only; on the host network (no root, no ip netns) the serial output says it is not isolated.
    const isolated = /network isolation: namespace, address (\S+) via gateway (\S+)/.exec(output);
    if (isolated)
      assert.match(
        output,
        new RegExp(`metadata server at ${isolated[2]}:80, answering only the instance address ${isolated[1]}\n`),
      );
    else assert.match(output, /sealroom: metadata server at 127\.\S+ on loopback: NOT isolated/);
  });

  test('another instance with another attached account gets that identity, and its Pub/Sub calls are denied', async () => {
    const line = instancesCreateLine('vm2', imageRef, 'tee-restart-policy=Never').map((arg) =>
      arg === `--service-account=${SA}` ? `--service-account=${OTHER_SA}` : arg,
    );
    await ok(...line);
    const output = await finished('vm2');
    const report = adcReport(output);
    assert.equal(report.email, OTHER_SA, output);
    assert.deepEqual(report.identity, { email: OTHER_SA, aud: 'https://workload.example' });
    assert.equal(report.pulled, undefined);
    assert.ok(report.pubsubError !== undefined, output);
  });
});
