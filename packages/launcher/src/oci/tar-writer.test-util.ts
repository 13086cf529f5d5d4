// A minimal reference tar writer (ustar + pax for long names and links), used only by tests.
export interface TestEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly uid: number;
  readonly data: Uint8Array;
  readonly linkTarget: string;
}

function header(name: string, flag: string, size: number, mode: number, uid: number, link: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name.slice(0, 100), 0, 'utf8');
  block.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'ascii');
  block.write(`${uid.toString(8).padStart(7, '0')}\0`, 108, 'ascii');
  block.write(`${'0'.padStart(7, '0')}\0`, 116, 'ascii');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  block.write(`${'0'.padStart(11, '0')}\0`, 136, 'ascii');
  block.write(flag, 156, 'ascii');
  block.write(link.slice(0, 100), 157, 'utf8');
  block.write('ustar\x0000', 257, 'binary');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

function pad(data: Uint8Array): Buffer {
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  padded.set(data);
  return padded;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length += 1;
  return `${length}${body}`;
}

export function writeTar(entries: readonly TestEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const records = [
      ...(Buffer.byteLength(e.path) > 100 ? [paxRecord('path', e.path)] : []),
      ...(e.type === 'symlink' && Buffer.byteLength(e.linkTarget) > 100 ? [paxRecord('linkpath', e.linkTarget)] : []),
    ].join('');
    if (records !== '') {
      const pax = Buffer.from(records, 'utf8');
      parts.push(header('PaxHeader', 'x', pax.length, 0o644, 0, ''), pad(pax));
    }
    const flag = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
    const data = e.type === 'file' ? e.data : new Uint8Array(0);
    parts.push(header(e.path, flag, data.length, e.mode, e.uid, e.type === 'symlink' ? e.linkTarget : ''), pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
