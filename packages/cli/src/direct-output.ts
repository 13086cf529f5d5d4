// The process's stdout and stderr written with write(2), not through their streams: a command that only
// prints never loads Node's stream modules (a tenth of a short command's start, more on a terminal).
import { writeSync } from 'node:fs';

/**
 * A writer to file descriptor `fd` (1 or 2). Where a write would block (a full pipe the shell left in
 * non-blocking mode), it hands the rest, and every later text, to the process's stream, which waits; text
 * already written stays in order before it.
 */
export function directWriter(fd: 1 | 2): (text: string) => void {
  let stream: NodeJS.WriteStream | undefined;
  return (text) => {
    if (stream) {
      stream.write(text);
      return;
    }
    const bytes = Buffer.from(text, 'utf8');
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The reader is gone (`sealroom … | head`; ECONNRESET where stdout is a socket, as a Node parent's
      // pipes are): nothing more can be shown, so the command ends quietly.
      if (code === 'EPIPE' || code === 'ECONNRESET') process.exit(0);
      if (code !== 'EAGAIN') throw error;
      stream = fd === 1 ? process.stdout : process.stderr;
      stream.write(bytes.subarray(offset));
    }
  };
}
