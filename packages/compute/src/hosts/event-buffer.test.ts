// The host's outbox: numbered events kept until acknowledged, replayed in order, bounded with a counted marker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEventBuffer } from './event-buffer.ts';
import type { Frame } from './peer.ts';

const lineOf = (frame: Frame) => (frame.event as { line?: string }).line;

describe('host event buffer', () => {
  it('sends at once while attached, keeps what is not acknowledged, and replays it in order after a reconnect', () => {
    const buffer = createEventBuffer();
    const first: Frame[] = [];
    buffer.attach((f) => first.push(f));
    for (let i = 1; i <= 5; i++) buffer.push('7', { kind: 'serial', line: `l${i}` });
    assert.deepEqual(
      first.map((f) => f.seq),
      [1, 2, 3, 4, 5],
    );
    assert.ok(first.every((f) => f.boot === buffer.boot && (f.event as { instanceId: string }).instanceId === '7'));
    buffer.ack('7', buffer.boot, 3);
    buffer.ack('7', 'another-run', 5);
    buffer.detach();
    buffer.push('7', { kind: 'serial', line: 'l6' });
    buffer.push('7', { kind: 'status', status: 'TERMINATED', message: '' });
    const again: Frame[] = [];
    buffer.attach((f) => again.push(f));
    assert.deepEqual(
      again.map((f) => [f.seq, lineOf(f) ?? (f.event as { kind: string }).kind]),
      [
        [4, 'l4'],
        [5, 'l5'],
        [6, 'l6'],
        [7, 'status'],
      ],
    );
    buffer.ack('7', buffer.boot, 7);
    assert.equal(buffer.pending(), 0);
    // An instance booted again in the same run goes on counting: the control plane's mark stays below.
    buffer.push('7', { kind: 'serial', line: 'l8' });
    assert.equal(again.at(-1)?.seq, 8);
  });

  it('drops the oldest lines past the bound and replays one marker counting them, in their place', () => {
    const buffer = createEventBuffer({ maxLines: 3 });
    buffer.push('1', { kind: 'booted', bootCount: 1, runtime: 'runc' });
    for (let i = 1; i <= 7; i++) buffer.push('1', { kind: 'serial', line: `l${i}` });
    const sent: Frame[] = [];
    buffer.attach((f) => sent.push(f));
    assert.deepEqual(
      sent.map((f) => [f.seq, lineOf(f) ?? 'booted']),
      [
        [1, 'booted'],
        [5, 'sealroom: … 4 lines dropped while the control plane was unreachable'],
        [6, 'l5'],
        [7, 'l6'],
        [8, 'l7'],
      ],
    );
  });
});
