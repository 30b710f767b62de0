import type { EventDto } from './api';
import {
  activePath,
  buildTree,
  contentErased,
  contentUnreadable,
  erasureActor,
  newestMessage,
  recordedBy,
  subjectOf,
} from './timeline';

let version = 0;
const ev = (type: string, data: Record<string, unknown>): EventDto => {
  version++;
  return {
    eventId: `e${version}`,
    streamId: 'conversation-c',
    version,
    position: `${version}-0`,
    type,
    data,
    metadata: {},
    occurredAt: `2026-01-01T00:00:${String(version).padStart(2, '0')}Z`,
    recordedAt: `2026-01-01T00:00:${String(version).padStart(2, '0')}Z`,
    hash: '00'.repeat(32),
    prevHash: '00'.repeat(32),
  };
};
const msg = (id: string, parent: string | null, role = 'user') =>
  ev('MessageAppended', { messageId: id, parentMessageId: parent, role, content: id });

describe('sealed content as the timeline answers it', () => {
  it('given erased or unreadable content (null), then the message says which, never confusing the two', () => {
    const erased = { ...msg('e1', null), contentErased: true as const };
    erased.data = { ...erased.data, content: null };
    const tampered = { ...msg('e2', 'e1'), contentUnreadable: true as const };
    tampered.data = { ...tampered.data, content: null };
    const tree = buildTree([erased, tampered, msg('e3', 'e2')]);
    expect(tree.byId.get('e1')).toMatchObject({ content: null });
    expect(tree.byId.get('e1')!.unreadable).toBeUndefined();
    expect(tree.byId.get('e2')).toMatchObject({ content: null, unreadable: true });
    expect(tree.byId.get('e3')!.content).toBe('e3');
    expect(tree.byId.get('e3')!.unreadable).toBeUndefined();
  });
});

describe('the message tree', () => {
  const events = [
    ev('ConversationStarted', { conversationId: 'c' }),
    msg('m1', null),
    msg('m2', 'm1', 'assistant'),
    ev('RedirectionAttempted', { messageId: 'm2', harmCategory: 'ABUSE_OF_ASSISTANT' }),
    msg('m3', 'm2'),
    ev('SafetyRiskFlagged', { flagId: 'f', kind: 'self_harm', source: 'classifier' }),
    msg('m3b', 'm2'), // an edit: a second branch under m2
    msg('m4', 'm3b', 'assistant'),
    ev('EndAttemptBlocked', { atMessageId: 'm4', failedGuards: ['NO_PRIOR_WARNING'] }),
    ev('WarningIssued', { messageId: 'm4', reasonCode: 'ABUSE_OF_ASSISTANT' }),
    ev('ConversationEnded', { endedAtMessageId: 'm4', reasonCode: 'ABUSE_OF_ASSISTANT' }),
    ev('EndDecisionReviewed', { endEventId: 'e11', outcome: 'upheld' }),
  ];
  const tree = buildTree(events);

  it('puts branches side by side under their parent', () => {
    expect(tree.roots.map((r) => r.id)).toEqual(['m1']);
    expect(tree.byId.get('m2')!.children.map((c) => c.id)).toEqual(['m3', 'm3b']);
  });

  it('places every event on the message it concerns (a flag on the newest message of its time)', () => {
    const kinds = (id: string) => tree.byId.get(id)!.marks.map((m) => m.kind);
    expect(kinds('m2')).toEqual(['redirection']);
    expect(kinds('m3')).toEqual(['risk-flag']);
    expect(kinds('m4')).toEqual(['blocked', 'warning', 'end']);
    expect(tree.ends).toHaveLength(1);
    expect(tree.blocked).toHaveLength(1);
    expect(tree.reviews).toHaveLength(1);
  });

  it('marks the active lineage from the active leaf', () => {
    expect([...activePath(tree, 'm4')]).toEqual(['m4', 'm3b', 'm2', 'm1']);
    expect(newestMessage(tree)).toBe('m4');
  });
});

describe('an erased conversation', () => {
  const erasedMsg = (id: string, parent: string | null): EventDto => ({
    ...ev('MessageAppended', { messageId: id, parentMessageId: parent, role: 'user', content: null }),
    contentErased: true,
    storedData: { messageId: id, parentMessageId: parent, role: 'user', content: { enc: 'A256GCM' } },
  });
  const erasure = ev('ContentErased', {
    erasureId: 'x',
    scope: 'subject',
    reason: 'data subject request',
    actor: { type: 'operator', id: 'k' },
    keyIds: ['k1'],
    plaintextFields: 0,
  });
  const events = [
    ev('ConversationStarted', { conversationId: 'c', tenantId: 'acme', subjectId: 'subject-1' }),
    erasedMsg('e1', null),
    msg('p2', 'e1'), // written before encryption: plaintext, not erasable by key destruction
    erasure,
  ];
  const tree = buildTree(events);

  it('given an erased message, when drawn, then its content is null (not an empty text) and the rest stays', () => {
    expect(tree.byId.get('e1')!.content).toBeNull();
    expect(tree.byId.get('p2')!.content).toBe('p2');
    expect(tree.byId.get('e1')!.children.map((c) => c.id)).toEqual(['p2']);
    expect(contentErased(events[1])).toBe(true);
    expect(contentErased(events[2])).toBe(false);
  });

  it('given a message that does not decrypt, when drawn, then it is unreadable, not erased', () => {
    const unreadable = {
      ...ev('MessageAppended', { messageId: 'u1', parentMessageId: null, role: 'user', content: null }),
      contentUnreadable: true as const,
    };
    const node = buildTree([unreadable]).byId.get('u1')!;
    expect(node.content).toBeNull();
    expect(node.unreadable).toBe(true);
    expect(tree.byId.get('e1')!.unreadable).toBeUndefined();
    expect(contentErased(unreadable)).toBe(false);
    expect(contentUnreadable(unreadable)).toBe(true);
  });

  it('given a ContentErased event, when drawn, then it is an erasure of the conversation, on no message', () => {
    expect(tree.erasures).toEqual([erasure]);
    expect(tree.unplaced).toEqual([{ kind: 'erasure', event: erasure }]);
    for (const node of tree.byId.values()) expect(node.marks).toEqual([]);
  });

  it('given an erasure by a key or by retention, when named, then a key is shortened, the system not', () => {
    expect(erasureActor(erasure.data)).toBe('operator k');
    expect(erasureActor({ actor: { type: 'operator', id: '3014d20e-0000-4000-8000-000000000001' } })).toBe(
      'operator 3014d20e',
    );
    expect(erasureActor({ scope: 'retention', actor: { type: 'system', id: 'retention' } })).toBe('system retention');
    expect(erasureActor({})).toBe('unknown');
  });

  it("given the conversation's start, when asked, then its subject and tenant; none without both", () => {
    expect(subjectOf(tree)).toEqual({ subjectId: 'subject-1', tenantId: 'acme' });
    expect(subjectOf(buildTree([ev('ConversationStarted', { tenantId: 'acme' })]))).toBeUndefined();
    expect(subjectOf(buildTree([]))).toBeUndefined();
  });
});

describe('who recorded an end', () => {
  const end = { ...ev('ConversationEnded', {}), metadata: { apiKeyId: '3f2a0000-0000-4000-8000-00000000000a' } };
  it('is the key in its metadata (any letter case), never a key that is absent', () => {
    expect(recordedBy(end, '3F2A0000-0000-4000-8000-00000000000A')).toBe(true);
    expect(recordedBy(end, '3f2a0000-0000-4000-8000-00000000000b')).toBe(false);
    expect(recordedBy(end, undefined)).toBe(false);
    expect(recordedBy({ ...end, metadata: {} }, '3f2a0000-0000-4000-8000-00000000000a')).toBe(false);
  });
});
