import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openLinkClaims } from './link-claims.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealroom-link-claims-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('a link is claimed once: a second claim fails until the first is released', async () => {
  const dir = tempDir();
  const claims = openLinkClaims(dir);
  const results = await Promise.all(Array.from({ length: 8 }, () => claims.claim('10.213.0.4/30')));
  assert.equal(results.filter(Boolean).length, 1);
  assert.equal(readFileSync(join(dir, '10.213.0.4-30'), 'utf8'), `${process.pid}\n`);
  assert.equal(await claims.claim('10.213.0.8/30'), true, 'another link is free');
  await claims.release('10.213.0.4/30');
  assert.equal(await claims.claim('10.213.0.4/30'), true);
});

test('the claim of a process that is gone is taken over; a live one stands and is not released by others', async () => {
  const dir = tempDir();
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(dir, '10.213.0.4-30'), `${gone.stdout}\n`);
  const claims = openLinkClaims(dir);
  assert.equal(await claims.claim('10.213.0.4/30'), true);
  // PID 1 is alive: its claim stands, and releasing it here leaves it in place.
  writeFileSync(join(dir, '10.213.0.8-30'), '1\n');
  assert.equal(await claims.claim('10.213.0.8/30'), false);
  await claims.release('10.213.0.8/30');
  assert.equal(readFileSync(join(dir, '10.213.0.8-30'), 'utf8'), '1\n');
});

test('two processes racing for the same link: exactly one gets it', async () => {
  const dir = tempDir();
  const module = fileURLToPath(new URL('./link-claims.ts', import.meta.url));
  const script = `import { openLinkClaims } from ${JSON.stringify(module)};
const claims = openLinkClaims(${JSON.stringify(dir)});
const won = await claims.claim('10.213.0.12/30');
process.stdout.write(won ? 'won' : 'lost');
// Held until the parent has read both answers.
setTimeout(() => {}, 3000);`;
  const racer = () =>
    new Promise<{ answer: string; kill: () => void }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let answer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        answer += chunk.toString();
        if (answer === 'won' || answer === 'lost') resolve({ answer, kill: () => child.kill('SIGKILL') });
      });
      child.on('error', reject);
      child.on('exit', () => resolve({ answer, kill: () => {} }));
    });
  const racers = await Promise.all([racer(), racer()]);
  for (const r of racers) r.kill();
  assert.deepEqual(racers.map((r) => r.answer).sort(), ['lost', 'won']);
});
