import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoreError } from '@sealroom/core';
import { z } from 'zod';
import {
  configTextKindOf,
  defineConfigFragment,
  describeConfigKey,
  parseConfigFragment,
  readConfigEnv,
} from './config-fragment.ts';

const fragment = defineConfigFragment({
  name: 'demo',
  title: 'Demo',
  section: 'demo',
  envPrefix: 'SEALROOM_DEMO_',
  fileEnv: 'SEALROOM_DEMO_CONFIG',
  keys: {
    port: { schema: z.number().int().min(0).max(65535).optional(), env: 'SEALROOM_DEMO_PORT', description: 'A port.' },
    wait: {
      schema: z.number().int().min(0).max(60_000).default(1000),
      env: 'SEALROOM_DEMO_WAIT_MS',
      description: 'Wait.',
    },
    on: { schema: z.boolean().default(false), env: 'SEALROOM_DEMO_ON', description: 'On.' },
    hosts: { schema: z.array(z.string()).default([]), env: 'SEALROOM_DEMO_HOSTS', description: 'Hosts.' },
    level: { schema: z.enum(['low', 'high']).default('low'), description: 'Level.' },
    roots: { schema: z.array(z.strictObject({ pem: z.string() })).default([]), description: 'Roots.' },
    url: { schema: z.url().optional(), defaultText: 'the base URL', description: 'A URL.' },
  },
  check(values) {
    if (values.port === 0 && values.on) throw new CoreError('ERR_CONFIG', 'port 0 and on together.');
  },
});

test('a fragment’s variables are read as its keys’ types; a value of the wrong type names the variable', () => {
  const { values, sources } = readConfigEnv(fragment, {
    SEALROOM_DEMO_PORT: '8085',
    SEALROOM_DEMO_ON: '1',
    SEALROOM_DEMO_HOSTS: ' a.corp, b.corp ,',
    SEALROOM_DEMO_WAIT_MS: '',
    HOME: '/home/x',
  });
  assert.deepEqual(values, { port: 8085, on: true, hosts: ['a.corp', 'b.corp'] });
  assert.deepEqual(sources, { port: 'SEALROOM_DEMO_PORT', on: 'SEALROOM_DEMO_ON', hosts: 'SEALROOM_DEMO_HOSTS' });
  assert.deepEqual(parseConfigFragment(fragment, values, sources), {
    port: 8085,
    wait: 1000,
    on: true,
    hosts: ['a.corp', 'b.corp'],
    level: 'low',
    roots: [],
  });
  assert.throws(() => readConfigEnv(fragment, { SEALROOM_DEMO_PORT: 'eighty' }), {
    code: 'ERR_CONFIG',
    message: 'SEALROOM_DEMO_PORT must be an integer.',
  });
  assert.throws(() => readConfigEnv(fragment, { SEALROOM_DEMO_ON: 'yes' }), {
    code: 'ERR_CONFIG',
    message: 'SEALROOM_DEMO_ON must be true or false.',
  });
});

test('a value out of range is refused at its path in the file, naming the variable that set it', () => {
  const { values, sources } = readConfigEnv(fragment, { SEALROOM_DEMO_WAIT_MS: '70000' });
  assert.throws(
    () => parseConfigFragment(fragment, values, sources),
    (error: CoreError) => {
      assert.equal(error.code, 'ERR_CONFIG');
      assert.match(error.message, /^Invalid configuration at 'demo\.wait' \(set by SEALROOM_DEMO_WAIT_MS\): /);
      return true;
    },
  );
  assert.throws(() => parseConfigFragment(fragment, { colour: 'blue' }), {
    code: 'ERR_CONFIG',
    message: /^Invalid configuration at 'demo\.colour'/,
  });
  assert.throws(() => parseConfigFragment(fragment, { port: 0, on: true }), { message: 'port 0 and on together.' });
});

test('an unknown variable under the fragment’s prefix is refused, so a typo does not pass silently', () => {
  assert.throws(() => readConfigEnv(fragment, { SEALROOM_DEMO_PROT: '1' }), {
    code: 'ERR_CONFIG',
    message: 'Unknown setting SEALROOM_DEMO_PROT.',
  });
  assert.deepEqual(readConfigEnv(fragment, { SEALROOM_OTHER_PROT: '1' }).values, {});
});

test('the file a fragment’s file variable names supplies keys; each key’s own variable overrides it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-config-'));
  try {
    const file = join(dir, 'demo.json');
    writeFileSync(file, JSON.stringify({ wait: 5, level: 'high', roots: [{ pem: 'x' }] }));
    const { values, sources } = readConfigEnv(fragment, { SEALROOM_DEMO_CONFIG: file, SEALROOM_DEMO_WAIT_MS: '7' });
    assert.deepEqual(values, { wait: 7, level: 'high', roots: [{ pem: 'x' }] });
    assert.equal(sources.level, 'SEALROOM_DEMO_CONFIG');
    assert.equal(sources.wait, 'SEALROOM_DEMO_WAIT_MS');
    writeFileSync(file, JSON.stringify({ level: 'medium' }));
    const bad = readConfigEnv(fragment, { SEALROOM_DEMO_CONFIG: file });
    assert.throws(() => parseConfigFragment(fragment, bad.values, bad.sources), {
      message: /^Invalid configuration at 'demo\.level' \(set by SEALROOM_DEMO_CONFIG\)/,
    });
    for (const content of ['{not json', '[1, 2]']) {
      writeFileSync(file, content);
      assert.throws(() => readConfigEnv(fragment, { SEALROOM_DEMO_CONFIG: file }), {
        code: 'ERR_CONFIG',
        message:
          /^SEALROOM_DEMO_CONFIG (does not name a readable JSON file|names a JSON file that does not hold an object)\.$/,
      });
    }
    assert.throws(() => readConfigEnv(fragment, { SEALROOM_DEMO_CONFIG: join(dir, 'missing.json') }), {
      message: 'SEALROOM_DEMO_CONFIG does not name a readable JSON file.',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each key’s text kind, type and default are read from its schema', () => {
  const { keys } = fragment;
  assert.deepEqual(
    Object.values(keys).map((key) => configTextKindOf(key)),
    ['integer', 'integer', 'boolean', 'list', 'string', 'json', 'string'],
  );
  assert.deepEqual(describeConfigKey(keys.port), { type: 'integer from 0 to 65535', defaultText: 'unset' });
  assert.deepEqual(describeConfigKey(keys.wait), { type: 'integer from 0 to 60000', defaultText: '`1000`' });
  assert.deepEqual(describeConfigKey(keys.on), { type: 'boolean', defaultText: '`false`' });
  assert.deepEqual(describeConfigKey(keys.hosts), { type: 'list of strings', defaultText: 'none' });
  assert.deepEqual(describeConfigKey(keys.level), { type: 'one of `low`, `high`', defaultText: '`low`' });
  assert.deepEqual(describeConfigKey(keys.roots), { type: 'list of objects', defaultText: 'none' });
  assert.deepEqual(describeConfigKey(keys.url), { type: 'URL', defaultText: 'the base URL' });
});

test('a fragment whose variable lies outside its prefix is refused when it is defined', () => {
  assert.throws(
    () =>
      defineConfigFragment({
        name: 'demo',
        title: 'Demo',
        envPrefix: 'SEALROOM_DEMO_',
        keys: { port: { schema: z.number().optional(), env: 'SEALROOM_PORT', description: 'A port.' } },
      }),
    { code: 'ERR_CONFIG' },
  );
});
