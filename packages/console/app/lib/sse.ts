// Server-sent events over fetch (EventSource cannot send the Authorization header), resuming by event id.
import { send } from './api.ts';

export interface ServerEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

/** Reads `path` as an event stream until `signal` aborts; reconnects after `end` or a dropped connection. */
export async function followEvents(
  path: string,
  onEvent: (event: ServerEvent) => void,
  signal: AbortSignal,
  onError: (error: unknown) => void,
): Promise<void> {
  let lastId: string | undefined;
  for (let attempt = 0; !signal.aborted && attempt < 100; attempt++) {
    let ended = '';
    try {
      const response = await send('GET', path, {
        signal,
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let at = buffer.indexOf('\n\n');
        while (at >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          at = buffer.indexOf('\n\n');
          const parsed = parseBlock(block);
          if (!parsed) continue;
          if (parsed.id) lastId = parsed.id;
          if (parsed.event === 'end') ended = parsed.data;
          onEvent(parsed);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      onError(error);
      if ((error as { status?: number }).status !== undefined) return;
    }
    // Only a stream that asked for it, or dropped, is resumed; a refusal or a deletion is final.
    if (ended && !ended.includes('reconnect')) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function parseBlock(block: string): ServerEvent | undefined {
  if (block.startsWith(':') || block.trim() === '') return undefined;
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return { event, data: data.join('\n'), ...(id ? { id } : {}) };
}
