// The browser's chain check against events hashed by the server's own code (libs/event-store): a drift
// between the two canonical forms or hash rules fails here.
import { webcrypto } from 'node:crypto';
import {
  GENESIS_HASH as SERVER_GENESIS,
  canonicalEvent as serverCanonical,
  chainHash as serverChainHash,
  verifyChain,
} from '../../../../libs/event-store/src/hash-chain';
import type { StoredEvent } from '../../../../libs/event-store/src/types';
import { GENESIS_HASH, canonicalEvent, checkChain, type ChainEvent } from './chain';

if (!globalThis.crypto) Object.assign(globalThis, { crypto: webcrypto });

const STREAM = 'conversation-0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10';

/** Events as the server stores them (hash and prevHash from its functions), then as JSON over the wire. */
function serverEvents(): ChainEvent[] {
  const bodies: Omit<ChainEvent, 'hash' | 'prevHash' | 'version' | 'streamId'>[] = [
    {
      type: 'ConversationStarted',
      data: { tenantId: 'acme', modelId: 'model-a', policyVersion: 2 },
      metadata: { actor: { type: 'user', id: 'u-1' }, tenantId: 'acme', correlationId: 'c-1' },
      occurredAt: '2026-12-05T10:00:00.000Z',
    },
    {
      type: 'MessageAppended',
      // Keys out of order, non-ASCII, escapes, numbers RFC 8785 writes in its own way.
      data: {
        role: 'user',
        messageId: 'm-1',
        content: 'Grüße 👋 "quoted" \\ back\nslash \u2028 <tag> é',
        numbers: [1e21, 0.1, -0, 1.5e-7, 100, 3.0],
        nested: { z: null, a: true, é: [], '\u0001': 'ctl' },
      },
      metadata: { tenantId: 'acme', actor: { id: 'u-1', type: 'user' } },
      occurredAt: '2026-12-05T10:00:01.234Z',
    },
    {
      type: 'MessageAppended',
      data: { role: 'assistant', messageId: 'm-2', parentMessageId: 'm-1', content: 'Hello', modelId: 'model-a' },
      metadata: {},
      occurredAt: '2026-12-05T10:00:02.000Z',
    },
  ];
  let prev = SERVER_GENESIS;
  const events = bodies.map((b, i) => {
    const version = i + 1;
    const hash = serverChainHash(prev, serverCanonical({ ...b, streamId: STREAM, version }));
    const e = { ...b, streamId: STREAM, version, prevHash: prev, hash };
    prev = hash;
    return e;
  });
  expect(verifyChain(events as unknown as StoredEvent[]).valid).toBe(true);
  return JSON.parse(JSON.stringify(events)) as ChainEvent[];
}

describe('the chain recomputed in the browser', () => {
  it('uses the server’s genesis and canonical form', () => {
    expect(GENESIS_HASH).toBe(SERVER_GENESIS);
    for (const e of serverEvents()) expect(canonicalEvent(e)).toBe(serverCanonical(e));
  });

  it('accepts the events the server hashed', async () => {
    const events = serverEvents();
    expect(await checkChain(events)).toEqual({ valid: true, count: 3, lastHash: events[2].hash });
  });

  it('names the version whose content was changed', async () => {
    const events = serverEvents();
    (events[1].data as { content: string }).content = 'Something else';
    expect(await checkChain(events)).toMatchObject({
      valid: false,
      brokenAtVersion: 2,
      why: expect.stringMatching(/content/),
    });
  });

  it('names the version whose content and hash were both rewritten: the next link breaks', async () => {
    const events = serverEvents();
    events[1].metadata = { tenantId: 'other' };
    events[1].hash = serverChainHash(events[1].prevHash, serverCanonical(events[1]));
    expect(await checkChain(events)).toMatchObject({
      valid: false,
      brokenAtVersion: 3,
      why: expect.stringMatching(/prevHash/),
    });
  });

  it('given sealed content answered opened, then it hashes storedData (as stored), not the readable data', async () => {
    const events = serverEvents();
    const envelope = {
      enc: 'A256GCM',
      kid: '0190a0b0-0000-7000-8000-000000000001',
      iv: 'aXY=',
      ct: 'Y3Q=',
    };
    // As the server would have stored and hashed it: the envelope in place of the text.
    const sealed = { ...(events[2].data as object), content: envelope };
    events[2] = { ...events[2], data: sealed };
    events[2].hash = serverChainHash(events[2].prevHash, serverCanonical(events[2] as never));
    // ...and as the API answers it: the text in data, the stored form beside.
    const answered = { ...events[2], data: { ...sealed, content: 'Hello' }, storedData: sealed };
    expect(await checkChain([events[0], events[1], answered])).toMatchObject({ valid: true });
    // Erased: data reads null, the stored form still proves the record.
    const erased = { ...answered, data: { ...sealed, content: null } };
    expect(await checkChain([events[0], events[1], erased])).toMatchObject({ valid: true });
    // Without storedData the readable data is hashed, and does not match.
    const { storedData: _stored, ...withoutStored } = answered;
    expect(await checkChain([events[0], events[1], withoutStored])).toMatchObject({ valid: false, brokenAtVersion: 3 });
  });

  it('given a sealed event whose envelope was changed on the way, then its version breaks', async () => {
    const events = serverEvents();
    const envelope = { enc: 'A256GCM', kid: 'k-1', iv: 'aXY=', ct: 'Y3Q=' };
    const sealed = { ...(events[2].data as object), content: envelope };
    events[2] = { ...events[2], data: sealed };
    events[2].hash = serverChainHash(events[2].prevHash, serverCanonical(events[2] as never));
    const changed = { ...sealed, content: { ...envelope, ct: 'Q1Q=' } };
    const answered = { ...events[2], data: { ...sealed, content: null }, storedData: changed };
    expect(await checkChain([events[0], events[1], answered])).toMatchObject({ valid: false, brokenAtVersion: 3 });
  });

  it('names a missing version, a wrong first prevHash, and refuses an empty list', async () => {
    const events = serverEvents();
    expect(await checkChain([events[0], events[2]])).toMatchObject({ valid: false, brokenAtVersion: 2 });
    const first = { ...events[0], prevHash: '1'.repeat(64) };
    expect(await checkChain([first])).toMatchObject({ valid: false, brokenAtVersion: 1 });
    expect(await checkChain([])).toMatchObject({ valid: false });
  });
});
