import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveRepoRoot } from '@sealroom/core';
import { CONFIG_FRAGMENTS } from '@sealroom/server';
import { renderConfigDoc, renderSettingsSection } from './config-doc.ts';

test('docs/config.md lists exactly the settings the configuration fragments define (run `npm run docs:config`)', () => {
  assert.equal(readFileSync(join(resolveRepoRoot(), 'docs', 'config.md'), 'utf8'), renderConfigDoc());
});

test('the settings reference names every key of every fragment with its variable and flag', () => {
  const section = renderSettingsSection();
  for (const fragment of CONFIG_FRAGMENTS) {
    for (const [name, key] of Object.entries(fragment.keys)) {
      const path = fragment.section === undefined ? name : `${fragment.section}.${name}`;
      const row = section.split('\n').find((line) => line.startsWith(`| \`${path}\` |`));
      assert.ok(row, path);
      if (key.env) assert.ok(row.includes(`\`${key.env}\``), key.env);
      if (key.flag) assert.ok(row.includes(`\`--${key.flag}\``), key.flag);
    }
    if (fragment.fileEnv) assert.ok(section.includes(`\`${fragment.fileEnv}\``));
  }
});
