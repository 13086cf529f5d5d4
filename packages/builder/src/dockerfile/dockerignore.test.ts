import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseDockerignore } from './dockerignore.ts';

it('follows the engine’s matching: globs, **, directories with their contents, the last pattern wins', () => {
  const matcher = parseDockerignore(
    [
      '# comment',
      '*.log',
      '/build',
      'docs/**/*.md',
      'node_modules',
      '!node_modules/keep',
      'secret?.txt',
      '',
      'a/[bc]',
    ].join('\n'),
  );
  const table: [string, boolean][] = [
    ['app.log', true],
    ['sub/app.log', false],
    ['build', true],
    ['build/out/x.o', true],
    ['docs/a.md', true],
    ['docs/deep/er/b.md', true],
    ['docs/a.txt', false],
    ['node_modules', true],
    ['node_modules/pkg/index.js', true],
    ['node_modules/keep', false],
    ['node_modules/keep/index.js', false],
    ['secret1.txt', true],
    ['secret12.txt', false],
    ['a/b', true],
    ['a/d', false],
    ['src/main.c', false],
  ];
  for (const [path, ignored] of table) assert.equal(matcher.ignores(path), ignored, path);
});

it('enters an ignored directory only when an exception could bring something in it back', () => {
  const matcher = parseDockerignore('node_modules\n!node_modules/keep/**\nvendor\n');
  assert.equal(matcher.mayReinclude('node_modules'), true);
  assert.equal(matcher.mayReinclude('node_modules/keep'), true);
  assert.equal(matcher.mayReinclude('node_modules/other'), false);
  assert.equal(matcher.mayReinclude('vendor'), false);
  assert.equal(parseDockerignore('').ignores('anything'), false);
});
