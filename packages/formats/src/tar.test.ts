import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatsError } from './errors.ts';
import { readTar, type TarEntry, writeTar } from './tar.ts';

const file = (path: string, text: string, mode?: number): TarEntry => ({
  type: 'file',
  path,
  content: Buffer.from(text),
  ...(mode === undefined ? {} : { mode }),
});

describe('writeTar', () => {
  it('gives the same bytes whatever order the entries come in', () => {
    const a = writeTar([file('b/2.txt', 'two'), file('a.txt', 'one'), file('b/1.txt', 'uno')]);
    const b = writeTar([file('b/1.txt', 'uno'), file('a.txt', 'one'), file('b/2.txt', 'two')]);
    assert.deepEqual(a, b);
  });

  it('adds parent directories before their children, with mtime 0, uid/gid 0 and normalised modes', () => {
    const entries = readTar(writeTar([file('usr/local/bin/node', 'x', 0o755), file('app/index.mjs', 'y')]));
    assert.deepEqual(
      entries.map((e) => [e.path, e.type, e.mode.toString(8), e.uid, e.gid, e.mtime]),
      [
        ['app/', 'dir', '755', 0, 0, 0],
        ['app/index.mjs', 'file', '644', 0, 0, 0],
        ['usr/', 'dir', '755', 0, 0, 0],
        ['usr/local/', 'dir', '755', 0, 0, 0],
        ['usr/local/bin/', 'dir', '755', 0, 0, 0],
        ['usr/local/bin/node', 'file', '755', 0, 0, 0],
      ],
    );
  });

  it('writes SOURCE_DATE_EPOCH as every mtime when given', () => {
    const entries = readTar(writeTar([file('a/b', 'x')], { mtimeSeconds: 1_700_000_000 }));
    assert.ok(entries.every((e) => e.mtime === 1_700_000_000));
  });

  it('uses a PAX record for names longer than 100 bytes or not ASCII', () => {
    const long = `${'d'.repeat(120)}/f.txt`;
    const entries = readTar(writeTar([file(long, 'x'), file('été.txt', 'y')]));
    assert.ok(entries.some((e) => e.path === long && e.content.toString() === 'x'));
    assert.ok(entries.some((e) => e.path === 'été.txt'));
  });

  it('writes numeric owners as given (a PAX record above ustar’s range) and never user names', () => {
    const archive = writeTar([
      { type: 'file', path: 'home/app/data', content: Buffer.from('d'), uid: 1000, gid: 1000 },
      { type: 'dir', path: 'home/app', uid: 1000, gid: 100 },
      { type: 'symlink', path: 'big', target: 'home', uid: 4_000_000_000, gid: 5 },
    ]);
    assert.deepEqual(
      readTar(archive).map((e) => [e.path, e.uid, e.gid]),
      [
        ['big', 4_000_000_000, 5],
        ['home/', 0, 0],
        ['home/app/', 1000, 100],
        ['home/app/data', 1000, 1000],
      ],
    );
    assert.equal(archive.toString('latin1').includes('root'), false);
    assert.throws(() => writeTar([{ type: 'dir', path: 'x', uid: -1 }]), /invalid owner/);
  });

  it('refuses paths that could escape the layer root and duplicate paths', () => {
    for (const bad of ['../etc/passwd', 'a/../../b', 'a//b', './', '']) {
      assert.throws(() => writeTar([file(bad, 'x')]), FormatsError, bad);
    }
    assert.throws(() => writeTar([file('a', 'x'), file('/a', 'y')]), /Duplicate/);
    assert.throws(() => writeTar([file('a', 'x'), file('a/b', 'y')]), /not a directory/);
  });

  it('round-trips any set of files through readTar, independent of order (property)', () => {
    const segment = fc.stringMatching(/^[a-z0-9_.-]{1,40}$/).filter((s) => s !== '.' && s !== '..');
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `f/${s.join('/')}`);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(path, fc.uint8Array({ maxLength: 700 })), { selector: ([p]) => p, maxLength: 8 }),
        (files) => {
          const paths = new Set(files.map(([p]) => p));
          // A path that is also a parent of another is not a valid file set; skip those draws.
          fc.pre(![...paths].some((p) => [...paths].some((q) => q.startsWith(`${p}/`))));
          const entries: TarEntry[] = files.map(([p, c]) => ({ type: 'file', path: p, content: c }));
          const archive = writeTar(entries);
          assert.deepEqual(writeTar([...entries].reverse()), archive);
          const back = readTar(archive).filter((e) => e.type === 'file');
          assert.deepEqual(
            back.map((e) => [e.path, Buffer.from(e.content).toString('hex')]).sort(),
            files.map(([p, c]) => [p, Buffer.from(c).toString('hex')]).sort(),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('readTar', () => {
  /** One raw header block with the given name, typeflag and link name (checksum fixed). */
  function rawHeader(name: string, typeflag: string, size: number, linkname = ''): Buffer {
    const block = Buffer.alloc(512);
    block.write(name, 0, 100, 'utf8');
    block.write('0000644\0', 100, 8, 'ascii');
    block.write('0001750\0', 108, 8, 'ascii');
    block.write('0001750\0', 116, 8, 'ascii');
    block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
    block.write('00000000000\0', 136, 12, 'ascii');
    block.write(typeflag, 156, 1, 'ascii');
    block.write(linkname, 157, 100, 'utf8');
    block.write('ustar  \0', 257, 8, 'ascii');
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of block) sum += byte;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
    return block;
  }
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

  it('reads GNU long names, hard links and owners as engines write them', () => {
    const long = `${'x'.repeat(150)}/file`;
    const archive = Buffer.concat([
      rawHeader('././@LongLink', 'L', long.length + 1),
      pad(Buffer.from(`${long}\0`)),
      rawHeader('truncated', '0', 2),
      pad(Buffer.from('hi')),
      rawHeader('alias', '1', 0, 'truncated-target'),
      rawHeader('fifo', '6', 0),
      Buffer.alloc(1024),
    ]);
    assert.deepEqual(
      readTar(archive).map((e) => [e.path, e.type, e.typeflag, e.uid, e.linkname]),
      [
        [long, 'file', '0', 1000, ''],
        ['alias', 'hardlink', '1', 1000, 'truncated-target'],
        ['fifo', 'other', '6', 1000, ''],
      ],
    );
  });

  it('refuses an entry whose content runs past the end of the archive', () => {
    const archive = Buffer.concat([rawHeader('f', '0', 4096), Buffer.alloc(512)]);
    assert.throws(() => readTar(archive), /Truncated tar entry/);
  });
});

describe('readTar (strict)', () => {
  const sample = writeTar([file('a/b', 'x')], { mtimeSeconds: 7 });
  const malformedTar = (e: unknown) => e instanceof FormatsError && e.code === 'ERR_FORMATS_MALFORMED_TAR';

  it('refuses a header whose checksum does not match', () => {
    const tar = Buffer.from(sample);
    tar[0] = 'y'.charCodeAt(0);
    assert.throws(
      () => readTar(tar),
      (e: unknown) => malformedTar(e) && /checksum/.test((e as Error).message),
    );
  });

  it('refuses a numeric field that is not octal', () => {
    const tar = Buffer.from(sample);
    tar.write('0000x44\0', 100, 8, 'ascii');
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of tar.subarray(0, 512)) sum += byte;
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
    assert.throws(
      () => readTar(tar),
      (e: unknown) => malformedTar(e) && /octal/.test((e as Error).message),
    );
  });

  it('applies pax records, global ones to every later entry, and refuses a malformed record', () => {
    const long = `${'d'.repeat(120)}/f`;
    const entries = readTar(writeTar([file(long, 'x')]));
    assert.deepEqual(
      entries.map((e) => e.path),
      [`${'d'.repeat(120)}/`, long],
    );
    const paxBlock = (type: string, body: string) => {
      const header = Buffer.alloc(512);
      header.write('PaxHeader', 0, 100, 'utf8');
      header.write('0000644\0', 100, 8, 'ascii');
      header.write('0000000\0', 108, 8, 'ascii');
      header.write('0000000\0', 116, 8, 'ascii');
      header.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
      header.write('00000000000\0', 136, 12, 'ascii');
      header.write(type, 156, 1, 'ascii');
      header.write('ustar\x0000', 257, 8, 'binary');
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of header) sum += byte;
      header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
      const data = Buffer.from(body);
      return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
    };
    const withGlobal = Buffer.concat([paxBlock('g', '15 uid=1234567\n'), writeTar([file('f', 'x')])]);
    assert.deepEqual(
      readTar(withGlobal).map((e) => e.uid),
      [1234567],
    );
    const broken = Buffer.concat([paxBlock('x', '99 path=x\n'), writeTar([file('f', 'x')])]);
    assert.throws(() => readTar(broken), malformedTar);
  });

  it('gives entries or ERR_FORMATS_MALFORMED_TAR for arbitrary or corrupted bytes, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (noise, at, byte) => {
        const corrupted = Buffer.from(sample);
        corrupted[at % corrupted.length] = byte;
        for (const input of [noise, corrupted]) {
          try {
            readTar(input);
          } catch (error) {
            assert.ok(malformedTar(error), String(error));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
