// Request body reading and parsing for the REST front end: size limits, JSON, forms, raw bytes.
import type { IncomingMessage } from 'node:http';
import { CoreError } from '@sealroom/core';
import type { BodyMode } from './api.ts';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/** Reads the whole body, refusing (413) as soon as it grows past `limit` bytes. */
export async function readBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (raw.complete) {
    if (raw.readableLength === 0) return EMPTY;
    // The parser has the whole message: its bytes are buffered, so they are taken at once.
    const chunks: Buffer[] = [];
    let size = 0;
    for (let chunk = raw.read() as Buffer | null; chunk !== null; chunk = raw.read() as Buffer | null) {
      size += chunk.length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    }
    return joined(chunks, size);
  }
  // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112, section 6.3).
  if (raw.headers['transfer-encoding'] === undefined && !(declared > 0)) return EMPTY;
  return readStreaming(raw, limit);
}

const EMPTY = Buffer.alloc(0);

/** The body's chunks as one buffer (the one chunk itself when there is only one). */
const joined = (chunks: readonly Buffer[], size: number): Buffer =>
  chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);

function readStreaming(raw: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: unknown): void => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onClose);
      raw.off('close', onClose);
      if (error === undefined) resolve(joined(chunks, size));
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // The rest still flows (and is dropped), so the answer can be written on this connection.
        finish(tooLarge(limit));
        raw.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    // A request stream fails only when its connection does (Node's "aborted"): the client's doing, not ours.
    const onClose = (): void =>
      finish(new CoreError('ERR_BAD_REQUEST_BODY', 'The connection closed before the request body ended.'));
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onClose);
    raw.once('close', onClose);
  });
}

function tooLarge(limit: number): CoreError {
  return new CoreError('ERR_PAYLOAD_TOO_LARGE', `Request payload size exceeds the limit: ${limit} bytes.`, {
    httpStatus: 413,
  });
}

/** Parses `bytes` per the route's body mode; returns the value handlers see as `request.body`. */
export function parseBody(mode: BodyMode, bytes: Buffer, contentType: string | undefined): unknown {
  if (mode === 'raw' || mode === 'stream') return undefined;
  if (mode === 'none') {
    if (bytes.length > 0) throw new CoreError('ERR_BAD_REQUEST_BODY', 'This method does not take a request body.');
    return undefined;
  }
  if (bytes.length === 0) return undefined;
  if (mode === 'form-or-json' && contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return parseForm(bytes.toString('utf8'));
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new CoreError('ERR_BAD_REQUEST_BODY', 'Invalid JSON payload received.');
  }
}

/** `application/x-www-form-urlencoded` into a record; a repeated field is refused rather than guessed. */
export function parseForm(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(out, key)) {
      throw new CoreError('ERR_BAD_REQUEST_BODY', `Invalid form payload received: field '${key}' is repeated.`);
    }
    out[key] = value;
  }
  return out;
}
