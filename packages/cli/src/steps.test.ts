import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStep } from './steps.ts';

test('a step ends with one ✓ line and its time; only a terminal sees it while it runs', async () => {
  const lines: { text: string; done: boolean }[] = [];
  const progress = (text: string, done?: boolean) => lines.push({ text, done: done === true });
  const digest = await runStep(
    { interactive: false, progress },
    'pushing',
    async () => 'sha256:ab',
    (d) => `pushed image ${d}`,
  );
  assert.equal(digest, 'sha256:ab');
  assert.equal(lines.length, 1);
  assert.match(lines[0]?.text ?? '', /^✓ pushed image sha256:ab \(\d+\.\d s\)$/);
  lines.length = 0;
  await runStep(
    { interactive: true, progress },
    'building',
    () => new Promise((resolve) => setTimeout(resolve, 450)),
    () => 'built',
  );
  assert.equal(lines[0]?.text, '… building');
  assert.ok(
    lines.some((l) => /^… building \(\d+\.\d s\)$/.test(l.text)),
    'the running line counts seconds',
  );
  assert.deepEqual(lines.at(-1)?.done, true);
  await assert.rejects(
    runStep(
      { interactive: false, progress },
      'failing',
      async () => Promise.reject(new Error('no')),
      () => 'x',
    ),
    /no/,
  );
});
