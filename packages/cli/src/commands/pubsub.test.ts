// The seed's `gcloud pubsub …` lines, as `sealroom pubsub …`, against a live server.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { type CliTestBed, startCliTestBed } from '../testing.ts';

let bed: CliTestBed;
const cli = (...argv: string[]) => bed.cli(...argv);
const ok = (...argv: string[]) => bed.ok(...argv);

before(async () => {
  bed = await startCliTestBed({ name: 'pubsub', only: ['pubsub'] });
  await ok('auth', 'login', 'operator@example.com');
  await ok('projects', 'create', 'operator-1');
  await ok('config', 'set', 'project', 'operator-1');
});

after(() => bed.close());

it("runs the seed's pubsub lines: topic, subscription, bindings, publish with attributes and pull --auto-ack", async () => {
  await ok('pubsub', 'topics', 'create', 'cs-topic');
  await ok('pubsub', 'subscriptions', 'create', 'cs-subscribe', '--topic=cs-topic', '--ack-deadline=30');
  await ok(
    'pubsub',
    'subscriptions',
    'add-iam-policy-binding',
    'cs-subscribe',
    '--member=serviceAccount:operator-svc-account@operator-1.iam.gserviceaccount.com',
    '--role=roles/pubsub.subscriber',
  );
  const policy = JSON.parse(
    await ok(
      'pubsub',
      'topics',
      'add-iam-policy-binding',
      'cs-topic',
      '--member=user:collab1@example.com',
      '--role=roles/pubsub.publisher',
      '--format=json',
    ),
  );
  assert.deepEqual(policy.bindings.find((b: { role: string }) => b.role === 'roles/pubsub.publisher').members, [
    'user:collab1@example.com',
  ]);
  assert.match(await ok('pubsub', 'topics', 'list', '--format=value(name)'), /projects\/operator-1\/topics\/cs-topic/);
  const subs = JSON.parse(await ok('pubsub', 'subscriptions', 'list', '--format=json'));
  assert.equal(subs[0].ackDeadlineSeconds, 30);
  const published = JSON.parse(
    await ok('pubsub', 'topics', 'publish', 'cs-topic', '--message=hello', '--attribute=k1=v1,k2=v2', '--format=json'),
  );
  assert.equal(published.messageIds.length, 1);
  const pulled = JSON.parse(
    await ok('pubsub', 'subscriptions', 'pull', 'cs-subscribe', '--auto-ack', '--limit=5', '--format=json'),
  );
  assert.equal(Buffer.from(pulled[0].message.data, 'base64').toString(), 'hello');
  assert.deepEqual(pulled[0].message.attributes, { k1: 'v1', k2: 'v2' });
  assert.deepEqual(JSON.parse(await ok('pubsub', 'subscriptions', 'pull', 'cs-subscribe', '--format=json')), []);
  const missing = await cli('pubsub', 'topics', 'publish', 'no-such-topic', '--message=x');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found/i);
  await ok('pubsub', 'subscriptions', 'delete', 'cs-subscribe');
  await ok('pubsub', 'topics', 'delete', 'cs-topic');
  assert.deepEqual(JSON.parse(await ok('pubsub', 'topics', 'list', '--format=json')), []);
});
