import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { createIamTestContext } from '@sealroom/iam/testing';
import { loadPubsubConfig } from './config.ts';
import { createPubsubServiceWith } from './module.ts';

test('settings come from SEALROOM_PUBSUB_*; the emulator port is off by default and unknown keys are refused', () => {
  assert.equal(loadPubsubConfig({}).emulatorPort, undefined);
  assert.deepEqual(loadPubsubConfig({ SEALROOM_PUBSUB_EMULATOR_PORT: '0', SEALROOM_PUBSUB_PULL_WAIT_MS: '50' }), {
    emulatorPort: 0,
    emulatorHost: '127.0.0.1',
    pullWaitMs: 50,
    purgeIntervalMs: 60_000,
  });
  assert.throws(() => loadPubsubConfig({ SEALROOM_PUBSUB_EMULATR_PORT: '1' }), { code: 'ERR_CONFIG' });
  assert.throws(() => loadPubsubConfig({ SEALROOM_PUBSUB_EMULATOR_PORT: '70000' }), { code: 'ERR_CONFIG' });
  assert.deepEqual(loadPubsubConfig({ SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT: '8085' }), {
    emulatorPort: 8085,
    emulatorUnsafe: true,
    emulatorHost: '127.0.0.1',
    pullWaitMs: 1000,
    purgeIntervalMs: 60_000,
  });
  assert.throws(
    () => loadPubsubConfig({ SEALROOM_PUBSUB_EMULATOR_PORT: '1', SEALROOM_PUBSUB_UNSAFE_EMULATOR_PORT: '2' }),
    { code: 'ERR_CONFIG' },
  );
});

test('outside dev mode the emulator port refuses to start unless it is asked for by its unsafe name', async () => {
  const iam = await createIamTestContext({ dev: false });
  const base = { emulatorPort: 0, emulatorHost: '127.0.0.1', pullWaitMs: 10, purgeIntervalMs: 60_000 };
  await assert.rejects(createPubsubServiceWith(base)(iam.context), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_CONFIG');
    assert.match(e.message, /runs only with --dev; .*--unsafe-emulator-port/);
    return true;
  });
  const unsafe = await createPubsubServiceWith({ ...base, emulatorUnsafe: true })(iam.context);
  await unsafe.start?.();
  assert.ok(unsafe.emulatorPort);
  assert.ok(iam.logger.entries.some((e) => e.level === 'warn' && e.fields.unsafe === true));
  await unsafe.stop?.();
  // Without an emulator port nothing is refused, dev or not.
  const plain = await createPubsubServiceWith({ emulatorHost: '127.0.0.1', pullWaitMs: 10, purgeIntervalMs: 60_000 })(
    iam.context,
  );
  await plain.start?.();
  assert.equal(plain.emulatorPort, undefined);
  await plain.stop?.();
  await iam.close();
});

test('the module’s emulator port serves PUBSUB_EMULATOR_HOST clients, and warns at start that IAM is not enforced there', async () => {
  const iam = await createIamTestContext();
  const module = await createPubsubServiceWith({
    emulatorPort: 0,
    emulatorHost: '127.0.0.1',
    pullWaitMs: 10,
    purgeIntervalMs: 60_000,
  })(iam.context);
  assert.equal(module.emulatorPort, undefined);
  await module.start?.();
  assert.ok(module.emulatorPort);
  assert.ok(iam.logger.entries.some((e) => e.level === 'warn' && /emulator port is ON/.test(e.message)));
  process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${module.emulatorPort}`;
  const pubsub = new PubSub({ projectId: 'any-project' });
  delete process.env.PUBSUB_EMULATOR_HOST;
  const [topic] = await pubsub.createTopic('emu-topic');
  await topic.createSubscription('emu-sub');
  await topic.publishMessage({ data: Buffer.from('via the emulator port') });
  const subscription = pubsub.subscription('emu-sub');
  const errors: Error[] = [];
  subscription.on('error', (e: Error) => errors.push(e));
  const message = await new Promise<Message>((resolve) => subscription.once('message', resolve));
  assert.equal(message.data.toString(), 'via the emulator port');
  message.ack();
  await module.stop?.();
  await subscription.close();
  await pubsub.close();
  await iam.close();
});
