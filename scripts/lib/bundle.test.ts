// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the inputs are source texts holding template literals
// The install-time bundles: import.meta rewritten in code only, and a bundle is run only while newer than its sources.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freshBundle, replaceInCode } from './bundle.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const rewrite = (text: string) => replaceInCode(text, (name) => `<${name}>`);

test('import.meta.url and import.meta.dirname are rewritten where they are code', () => {
  assert.equal(
    rewrite('const a = new URL("./x", import.meta.url); f(import.meta.dirname);'),
    'const a = new URL("./x", <url>); f(<dirname>);',
  );
  assert.equal(
    rewrite('const t = `at ${import.meta.url} and ${`${import.meta.dirname}`}`;'),
    'const t = `at ${<url>} and ${`${<dirname>}`}`;',
  );
});

test('strings and comments that spell import.meta.url are left as they are', () => {
  const banner = 'const b = \'const require = createRequire(import.meta.url);\\n\' + "x(import.meta.url)";';
  assert.equal(rewrite(banner), banner);
  assert.equal(
    rewrite('// import.meta.url\n/* import.meta.dirname */ g(import.meta.url)'),
    '// import.meta.url\n/* import.meta.dirname */ g(<url>)',
  );
  assert.equal(
    rewrite('const t = `import.meta.url ${"import.meta.url"}`; h(import.meta.url);'),
    'const t = `import.meta.url ${"import.meta.url"}`; h(<url>);',
  );
  assert.equal(
    rewrite("const s = 'it\\'s import.meta.url'; k(import.meta.urlish);"),
    "const s = 'it\\'s import.meta.url'; k(import.meta.urlish);",
  );
});

test('a bundle runs only while every source it was built from is older', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-bundle-'));
  dirs.push(dir);
  const out = join(dir, 'dist');
  assert.equal(freshBundle(out, 'main'), undefined, 'not built');
  writeFileSync(join(dir, 'a.ts'), 'export {};');
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'a.ts'), old, old);
  const builtAt = Date.now() - 30_000;
  // The manifest lists sources relative to the bundle's folder.
  mkdirSync(out);
  writeFileSync(join(out, 'inputs.json'), JSON.stringify({ builtAt, files: ['../a.ts'] }));
  assert.equal(freshBundle(out, 'main'), join(out, 'main.mjs'));
  writeFileSync(join(dir, 'a.ts'), 'export const edited = 1;');
  assert.equal(freshBundle(out, 'main'), undefined, 'a source edited since');
  utimesSync(join(dir, 'a.ts'), old, old);
  rmSync(join(dir, 'a.ts'));
  assert.equal(freshBundle(out, 'main'), undefined, 'a source gone');
});
