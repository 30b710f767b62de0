import { canonicalEvent, chainHash, GENESIS_HASH, StoredEvent } from '@app/event-store';
import { chainReport } from './chain';

/** A correctly chained stream of `n` events. */
function stream(n: number): StoredEvent[] {
  const events: StoredEvent[] = [];
  let prev = GENESIS_HASH;
  for (let version = 1; version <= n; version++) {
    const e = {
      position: `1-${version}`,
      streamId: 'conversation-x',
      version,
      eventId: `00000000-0000-4000-8000-00000000000${version}`,
      type: 'FeedbackSubmitted',
      data: { rating: 'up' },
      metadata: { tenantId: 'acme' },
      occurredAt: '2025-03-03T10:00:00.000Z',
      recordedAt: '2025-03-03T10:00:00.000Z',
      prevHash: prev,
      hash: '',
    };
    e.hash = chainHash(prev, canonicalEvent(e));
    prev = e.hash;
    events.push(e);
  }
  return events;
}

const headOf = (events: StoredEvent[]) => ({ version: events.length, headHash: events.at(-1)!.hash });

describe(chainReport.name, () => {
  it('accepts an intact stream whose head is its last event', () => {
    const events = stream(4);
    expect(chainReport(events, headOf(events))).toEqual({ valid: true });
  });

  it('accepts events appended after the head was read', () => {
    const events = stream(5);
    expect(chainReport(events, headOf(events.slice(0, 3)))).toEqual({ valid: true });
  });

  it('names the first changed event', () => {
    const events = stream(4);
    events[1] = { ...events[1], data: { rating: 'down' } };
    expect(chainReport(events, headOf(stream(4)))).toMatchObject({ valid: false, brokenAtVersion: 2 });
  });

  it('notices events removed from the end', () => {
    const events = stream(4);
    expect(chainReport(events.slice(0, 3), headOf(events))).toMatchObject({ valid: false, brokenAtVersion: 4 });
  });

  it('notices a last event rewritten with a freshly computed hash', () => {
    const events = stream(3);
    const head = headOf(events);
    const forged = { ...events[2], data: { rating: 'down' } };
    forged.hash = chainHash(forged.prevHash, canonicalEvent(forged));
    expect(chainReport([...events.slice(0, 2), forged], head)).toMatchObject({ valid: false, brokenAtVersion: 3 });
  });
});
