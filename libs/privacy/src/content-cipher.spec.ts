import { randomBytes, randomUUID } from 'node:crypto';
import { canonicalParts } from '@app/event-store';
import { canonicalize } from 'json-canonicalize';
import { ContentUnreadable, type DataKey, openText, sealText } from './content-cipher';
import { isEnvelope } from './content-envelope';
import type { KeyLookup } from './content-keys';
import { LocalMasterKey, MasterKeyError } from './master-key';
import { kidsOf, needsSealing, openData, plaintextFieldsOf, sealData } from './sealing';

const dataKey = (): DataKey => ({ kid: randomUUID(), key: randomBytes(32) });

describe('content encryption (AES-256-GCM envelopes)', () => {
  const key = dataKey();
  const eventId = randomUUID();

  it('given a text, when sealed and opened with its key, then the text comes back (any Unicode)', () => {
    const text = 'héllo 👋 — ünïcode\n'.repeat(3);
    const envelope = sealText(key, eventId, 'content', text);
    expect(isEnvelope(envelope)).toBe(true);
    expect(JSON.stringify(envelope)).not.toContain('llo');
    expect(openText(key, eventId, 'content', envelope)).toBe(text);
  });

  it('given envelopes, then the canonical JSON written with each is the one its walk gives (what is hashed)', () => {
    const texts = ['', 'x', 'héllo 👋\n"quoted"\\', 'a'.repeat(1000)];
    // a key id as keys are made (lower-case UUID) has its text written ahead; any other is walked
    const kids: [string, number][] = [
      [key.kid, 1],
      [randomUUID().toUpperCase(), 0],
      ['a "kid" \\ with\nescapes', 0],
    ];
    for (const text of texts) {
      for (const [kid, written] of kids) {
        const envelope = sealText({ kid, key: key.key }, eventId, 'content', text);
        expect(Object.getOwnPropertySymbols(envelope)).toHaveLength(written);
        // the append's serialisation of the event's data: the envelope, then a copy walked key by key
        const appended = canonicalParts({ data: { content: envelope }, metadata: {} }).data;
        const walked = canonicalParts({ data: { content: { ...envelope } }, metadata: {} }).data;
        expect(appended).toBe(walked);
        expect(appended).toBe(canonicalize({ content: JSON.parse(JSON.stringify(envelope)) })); // the verifier's
        expect(JSON.parse(appended)).toEqual({ content: envelope });
        expect(Object.isFrozen(envelope)).toBe(written === 1);
      }
    }
  });

  it('given the same text sealed 3,000 times, then each envelope has its own nonce and ciphertext', () => {
    const envelopes = Array.from({ length: 3000 }, () => sealText(key, eventId, 'content', 'same'));
    // past the nonce pool's 1,024: still no nonce twice
    expect(new Set(envelopes.map((e) => e.iv)).size).toBe(3000);
    expect(envelopes[0].ct).not.toBe(envelopes[1].ct);
  });

  it('given another key with the same id, when opened, then it is refused', () => {
    const envelope = sealText(key, eventId, 'content', 'secret');
    expect(() => openText({ kid: key.kid, key: randomBytes(32) }, eventId, 'content', envelope)).toThrow(
      ContentUnreadable,
    );
    expect(() => openText(dataKey(), eventId, 'content', envelope)).toThrow(ContentUnreadable);
  });

  it('given a tampered ciphertext, tag or nonce, when opened, then it is refused', () => {
    const envelope = sealText(key, eventId, 'content', 'secret text');
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] ^= 1;
      return bytes.toString('base64');
    };
    for (const part of ['ct', 'iv'] as const) {
      expect(() => openText(key, eventId, 'content', { ...envelope, [part]: flip(envelope[part]) })).toThrow(
        ContentUnreadable,
      );
    }
    // the tag is the last 16 bytes of ct: flipped, cut off, or ct shorter than a tag
    const sealed = Buffer.from(envelope.ct, 'base64');
    sealed[sealed.length - 1] ^= 1;
    for (const ct of [sealed, Buffer.from(envelope.ct, 'base64').subarray(0, -16), Buffer.alloc(5)]) {
      expect(() => openText(key, eventId, 'content', { ...envelope, ct: ct.toString('base64') })).toThrow(
        ContentUnreadable,
      );
    }
  });

  it('given an envelope moved to another event or field, when opened, then it is refused (associated data)', () => {
    const envelope = sealText(key, eventId, 'content', 'secret');
    expect(() => openText(key, randomUUID(), 'content', envelope)).toThrow(ContentUnreadable);
    expect(() => openText(key, eventId, 'note', envelope)).toThrow(ContentUnreadable);
  });

  it('given an event with sealed fields, when sealed and opened with a live key, then only those fields change', () => {
    const e = {
      eventId,
      type: 'ConversationEnded',
      data: { reasonCode: 'OTHER_POLICY', explanation: 'why', initiator: 'operator' },
    };
    expect(needsSealing(e)).toBe(true);
    const sealed = { ...e, data: sealData(key, e) };
    expect(sealed.data.reasonCode).toBe('OTHER_POLICY');
    expect(isEnvelope(sealed.data.explanation)).toBe(true);
    expect(plaintextFieldsOf(sealed)).toEqual([]);
    expect(kidsOf(sealed)).toEqual([key.kid]);
    const live = new Map<string, KeyLookup | null>([[key.kid, { state: 'live', key }]]);
    expect(openData(sealed, live)).toEqual({ data: e.data, contentErased: false, unreadableFields: [] });
  });

  it('given a destroyed key, when opened, then the field reads null and the event says erased', () => {
    const e = { eventId, type: 'MessageAppended', data: { messageId: 'm', content: 'hello' } };
    const sealed = { ...e, data: sealData(key, e) };
    const gone = new Map<string, KeyLookup | null>([[key.kid, { state: 'destroyed', destroyedAt: new Date() }]]);
    expect(openData(sealed, gone)).toEqual({
      data: { messageId: 'm', content: null },
      contentErased: true,
      unreadableFields: [],
    });
  });

  it('given a tampered ciphertext under a live key, when opened, then it is unreadable, never erased', () => {
    const e = { eventId, type: 'MessageAppended', data: { messageId: 'm', content: 'hello' } };
    const envelope = sealData(key, e).content as { ct: string };
    const ct = Buffer.from(envelope.ct, 'base64');
    ct[0] ^= 1;
    const tampered = { ...e, data: { ...e.data, content: { ...envelope, ct: ct.toString('base64') } } };
    const live = new Map<string, KeyLookup | null>([[key.kid, { state: 'live', key }]]);
    expect(openData(tampered, live)).toEqual({
      data: { messageId: 'm', content: null },
      contentErased: false,
      unreadableFields: ['content'],
    });
  });

  it('given an envelope naming a key that never existed, when opened, then it is unreadable, never erased', () => {
    const e = { eventId, type: 'FeedbackSubmitted', data: { rating: 'up', comment: 'fine' } };
    const sealed = { ...e, data: sealData(key, e) };
    expect(openData(sealed, new Map())).toEqual({
      data: { rating: 'up', comment: null },
      contentErased: false,
      unreadableFields: ['comment'],
    });
  });

  it('given an envelope moved to another event, when opened, then it is unreadable (bound to its event id)', () => {
    const e = { eventId, type: 'MessageAppended', data: { messageId: 'm', content: 'hello' } };
    const moved = { ...e, eventId: randomUUID(), data: sealData(key, e) };
    const live = new Map<string, KeyLookup | null>([[key.kid, { state: 'live', key }]]);
    expect(openData(moved, live).unreadableFields).toEqual(['content']);
  });

  it('given plaintext written before encryption, then it is read as is and counted as not erasable', () => {
    const e = { eventId, type: 'MessageAppended', data: { content: 'old text' } };
    expect(openData(e, new Map())).toEqual({ data: e.data, contentErased: false, unreadableFields: [] });
    expect(plaintextFieldsOf(e)).toEqual(['content']);
  });

  it('given events without sealed fields, then sealing leaves them untouched', () => {
    const e = { eventId, type: 'RedirectionAttempted', data: { messageId: 'm', harmCategory: 'X' } };
    expect(needsSealing(e)).toBe(false);
    expect(sealData(key, e)).toBe(e.data);
  });
});

describe('master key wrapping', () => {
  it('given a wrapped data key, it unwraps under its context only, and under its master key only', async () => {
    const master = new LocalMasterKey(randomBytes(32));
    const secret = randomBytes(32);
    const wrapped = await master.wrap(secret, 'content-key\na\nb');
    expect(await master.unwrap(wrapped, 'content-key\na\nb')).toEqual(secret);
    await expect(master.unwrap(wrapped, 'content-key\na\nc')).rejects.toThrow(MasterKeyError);
    await expect(new LocalMasterKey(randomBytes(32)).unwrap(wrapped, 'content-key\na\nb')).rejects.toThrow(
      MasterKeyError,
    );
  });
});
