// Direct writes to stdout: every byte arrives, in order, also when the pipe is non-blocking and full.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('a pipe made non-blocking and left full gets every byte in order: the rest goes through the stream', async () => {
  // process.stdout makes fd 1 non-blocking (libuv); 4 MiB do not fit in the pipe while the reader waits.
  const script = `
    import { directWriter } from ${JSON.stringify(new URL('./direct-output.ts', import.meta.url).href)};
    process.stdout;
    const write = directWriter(1);
    for (let i = 0; i < 64; i++) write(String(i % 10).repeat(65536));
    write('end\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise((resolve) => child.once('close', resolve));
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  try {
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    assert.equal(await closed, 0, stderr);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(stderr, '');
  const text = Buffer.concat(chunks).toString();
  const expected = `${Array.from({ length: 64 }, (_, i) => String(i % 10).repeat(65536)).join('')}end\n`;
  assert.equal(text.length, expected.length);
  assert.ok(text === expected, 'the bytes arrive in the order written');
});

test('a reader that goes away (`| head`) ends the command quietly, without a stack trace', async () => {
  const script = `
    import { directWriter } from ${JSON.stringify(new URL('./direct-output.ts', import.meta.url).href)};
    const write = directWriter(1);
    for (let i = 0; i < 1024; i++) write('a line of output that nobody reads any more\\n'.repeat(64));
    process.stderr.write('not reached\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  try {
    // The reader takes the first chunk and closes its end, as `head` does.
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    assert.equal(await closed, 0, stderr);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(stderr, '');
});
