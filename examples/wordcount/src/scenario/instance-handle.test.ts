// Waiting for results reads the serial console: a count is reached only once every collaborator has it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publishedContributions } from './instance-handle.ts';

const line = (collaborator: string, contributions: Record<string, number>) =>
  `[workload] ${JSON.stringify({ time: '2026-12-02T00:00:00Z', collaborator, contributions, msg: 'sealed result published' })}`;

describe('publishedContributions', () => {
  it('is 0 until every collaborator has a published result', () => {
    const serial = [line('c1', { c1: 2, c2: 2 }), 'other output'].join('\n');
    assert.equal(publishedContributions(serial, 2), 0);
    assert.equal(publishedContributions(serial, 1), 4);
  });

  it("is the least of the collaborators' latest totals", () => {
    const serial = [
      line('c1', { c1: 1, c2: 1 }),
      line('c2', { c1: 1, c2: 1 }),
      line('c1', { c1: 3, c2: 3 }),
      `[workload] {"time":"cut off`,
    ].join('\n');
    assert.equal(publishedContributions(serial, 2), 2);
    assert.equal(publishedContributions(`${serial}\n${line('c2', { c1: 3, c2: 3 })}`, 2), 6);
  });
});
