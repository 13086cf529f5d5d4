// Response bodies read under a byte limit: the connection is cut at the limit, never after buffering more.
import { describeTarget, OutboundError } from './errors.ts';
import type { Exchange } from './exchange.ts';

function tooLarge(exchange: Exchange, limit: number): OutboundError {
  const target = describeTarget(exchange.url);
  return new OutboundError('ERR_OUTBOUND_TOO_LARGE', `The body from ${target} is larger than ${limit} bytes.`, {
    target,
  });
}

/** Refuses at once a body whose declared length is over the limit. */
function checkDeclaredLength(exchange: Exchange, limit: number): void {
  const declared = Number(exchange.response.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    const error = tooLarge(exchange, limit);
    exchange.fail(error);
    exchange.done();
    throw error;
  }
}

function bodyError(exchange: Exchange, error: unknown): OutboundError {
  const failure = exchange.failure();
  if (failure) return failure;
  if (error instanceof OutboundError) return error;
  const target = describeTarget(exchange.url);
  return new OutboundError('ERR_OUTBOUND_CONNECT', `The connection to ${target} ended before the body did.`, {
    target,
    cause: error,
  });
}

/** Reads the whole body into memory, at most `limit` bytes. */
export async function readBody(exchange: Exchange, limit: number): Promise<Buffer> {
  checkDeclaredLength(exchange, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of exchange.response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        exchange.fail(tooLarge(exchange, limit));
        break;
      }
      chunks.push(chunk);
    }
    const failure = exchange.failure();
    if (failure) throw failure;
    if (!exchange.response.complete) throw bodyError(exchange, undefined);
  } catch (error) {
    throw bodyError(exchange, error);
  } finally {
    exchange.done();
  }
  return Buffer.concat(chunks, size);
}

/** The body as a web stream that errors (and cuts the connection) past `limit` bytes or at the deadline. */
export function streamBody(exchange: Exchange, limit: number): ReadableStream<Uint8Array> {
  checkDeclaredLength(exchange, limit);
  const iterator = (exchange.response as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let size = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          const failure = exchange.failure();
          if (failure) throw failure;
          if (next.done) {
            if (!exchange.response.complete) throw bodyError(exchange, undefined);
            exchange.done();
            controller.close();
            return;
          }
          size += next.value.length;
          if (size > limit) {
            const error = tooLarge(exchange, limit);
            exchange.fail(error);
            throw error;
          }
          controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        } catch (error) {
          exchange.done();
          controller.error(bodyError(exchange, error));
        }
      },
      cancel() {
        exchange.response.destroy();
        exchange.done();
      },
    },
    { highWaterMark: 0 },
  );
}
