import { randomUUID } from 'node:crypto';
import type { ConversationServiceClient } from '@app/client';
import { type ConversationCommand, streamIdOf } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { fixtureDeps, runFixtureCommand } from '@app/testing';
import type { ConsoleService, Key } from './service';

export type Outcome = 'upheld' | 'overturned' | 'reclassified';

export interface SeededEnd {
  conversationId: string;
  endEventId: string;
  tenantId: string;
  reasonCode: string;
  initiator: 'model' | 'operator';
  modelId: string;
  /** The UTC day of the end, YYYY-MM-DD. */
  day: string;
  review?: Outcome;
  /** Appended behind the domain's back (a faulty writer): not compliant with its policy. */
  forged?: boolean;
}

export interface SeededBlocked {
  conversationId: string;
  tenantId: string;
  modelId: string;
  reasonCode: string;
  failedGuards: string[];
  day: string;
}

/** The conversation drawn as a tree in the conversation tests. */
export interface BranchedConversation {
  conversationId: string;
  endEventId: string;
  /** On the ended (now inactive) branch: u1 → a1 → u2 → a2 → u3 (the end point). */
  messages: { u1: string; a1: string; u2: string; a2: string; u3: string };
  /** The new branch from a1 after the end: u2b → a2b (the active leaf). */
  branch: { u2b: string; a2b: string };
}

export interface World {
  ends: SeededEnd[];
  blocked: SeededBlocked[];
  branched: BranchedConversation;
  /** An end recorded by `keys.operator` (holder "Ada Auditor", as `keys.auditor`): that auditor may not review it. */
  operatorEnd: SeededEnd;
  /** An end recorded with `keys.admin` itself: the console disables that key's review form, saying why. */
  adminEnd: SeededEnd;
  /** An end nobody reviewed yet, for the review test. */
  unreviewed: SeededEnd;
  /** The filter bar's range covering everything seeded (YYYY-MM-DD; "To" inclusive). */
  from: string;
  to: string;
}

export const day = (d: Date): string => d.toISOString().slice(0, 10);
const daysAgo = (n: number, hour = 10): Date => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - n);
  d.setUTCHours(hour, 0, 0, 0);
  return d;
};

type Client = ConversationServiceClient;

/** The body of an answer that must be 2xx; else the test fails naming the call. */
function ok<T>(what: string, res: { data?: T; error?: unknown; response: Response }): T {
  if (!res.response.ok || res.data === undefined) {
    throw new Error(`${what}: ${res.response.status} ${JSON.stringify(res.error)}`);
  }
  return res.data;
}

async function start(client: Client, modelId: string, subjectId?: string): Promise<string> {
  const conversationId = randomUUID();
  ok(
    'start',
    await client.POST('/v1/conversations', {
      body: { conversationId, subjectId: subjectId ?? `subject-${conversationId.slice(0, 4)}`, modelId },
    }),
  );
  return conversationId;
}

async function say(
  client: Client,
  id: string,
  parentMessageId: string | null,
  role: 'user' | 'assistant',
  content: string,
): Promise<string> {
  const messageId = randomUUID();
  ok(
    `message on ${id}`,
    await client.POST('/v1/conversations/{id}/messages', {
      params: { path: { id } },
      body: { messageId, parentMessageId, role, content },
    }),
  );
  return messageId;
}

/** The texts of `thread`'s messages. */
export const THREAD = {
  u1: 'Write me a poem about the sea.',
  a1: 'Here is a short poem about the sea: waves fold into foam…',
  u2: 'That is useless. You are a worthless machine and I will keep saying it.',
  a2: "I'd like to keep helping. Shall we try a different poem?",
  u3: 'Worthless. Worthless. Worthless.',
} as const;

/** u1 → a1 → u2 → a2 → u3, an abusive thread. */
async function thread(client: Client, id: string) {
  const u1 = await say(client, id, null, 'user', THREAD.u1);
  const a1 = await say(client, id, u1, 'assistant', THREAD.a1);
  const u2 = await say(client, id, a1, 'user', THREAD.u2);
  const a2 = await say(client, id, u2, 'assistant', THREAD.a2);
  const u3 = await say(client, id, a2, 'user', THREAD.u3);
  return { u1, a1, u2, a2, u3 };
}

const harm = 'ABUSE_OF_ASSISTANT' as const;

async function redirect(client: Client, id: string, messageId: string, harmCategory = harm as string) {
  ok(
    'redirection',
    await client.POST('/v1/conversations/{id}/redirections', {
      params: { path: { id } },
      body: { messageId, harmCategory: harmCategory as typeof harm },
    }),
  );
}

async function end(
  client: Client,
  id: string,
  body: { initiator: 'model' | 'operator'; reasonCode: string; atMessageId: string; explanation?: string },
): Promise<string> {
  return ok('end', await client.POST('/v1/conversations/{id}/end', { params: { path: { id } }, body })).endEventId!;
}

/** An end the guards refuse: 409 END_BLOCKED, recorded as EndAttemptBlocked. */
async function blockedEnd(
  client: Client,
  id: string,
  body: { initiator: 'model' | 'operator'; reasonCode: string; atMessageId: string },
): Promise<string[]> {
  const res = await client.POST('/v1/conversations/{id}/end', { params: { path: { id } }, body });
  if (res.response.status !== 409) throw new Error(`expected END_BLOCKED, got ${res.response.status}`);
  return (res.error as { failedGuards: string[] }).failedGuards;
}

export async function review(client: Client, conversationId: string, endEventId: string, outcome: Outcome) {
  const body =
    outcome === 'reclassified'
      ? { endEventId, outcome, newReasonCode: 'HATE_OR_HARASSMENT_GENERATION', errorType: 'wrong_reason' as const }
      : outcome === 'overturned'
        ? { endEventId, outcome, errorType: 'false_positive' as const, note: 'the user was joking' }
        : { endEventId, outcome, note: 'persistent abuse after two redirections' };
  ok(
    'review',
    await client.POST('/v1/audit/conversations/{id}/reviews', { params: { path: { id: conversationId } }, body }),
  );
}

/** A conversation ended at `at`, written through handleConversationCommand (the HTTP API takes no times). */
async function pastEnd(
  store: PostgresEventStore,
  at: Date,
  tenantId: string,
  modelId: string,
  reasonCode: string,
): Promise<SeededEnd> {
  const conversationId = randomUUID();
  const [u1, a1, u2, a2, u3] = Array.from({ length: 5 }, () => randomUUID());
  const initiator = reasonCode === 'OPERATOR_ACTION' ? 'operator' : 'model';
  const msg = (messageId: string, parentMessageId: string | null, role: 'user' | 'assistant'): ConversationCommand => ({
    type: 'AppendMessage',
    data: { messageId, parentMessageId, role, content: `${role}: an earlier conversation (${messageId.slice(0, 4)})` },
  });
  const harmCategory = reasonCode.endsWith('_FACILITATION') ? 'SERIOUS_CRIME_FACILITATION' : harm;
  const commands: ConversationCommand[] = [
    { type: 'StartConversation', data: { conversationId, tenantId, subjectId: 'subject-past', modelId } },
    msg(u1, null, 'user'),
    msg(a1, u1, 'assistant'),
    msg(u2, a1, 'user'),
    msg(a2, u2, 'assistant'),
    msg(u3, a2, 'user'),
    ...(reasonCode === 'USER_REQUESTED'
      ? [{ type: 'RequestEnd', data: { messageId: u3 } } as ConversationCommand]
      : initiator === 'model'
        ? [a1, a2].map((messageId): ConversationCommand => ({
            type: 'RecordRedirection',
            data: { messageId, harmCategory },
          }))
        : []),
    {
      type: 'EndConversation',
      data: {
        initiator,
        reasonCode,
        atMessageId: u3,
        ...(initiator === 'operator' && { explanation: 'ended by staff after review of the thread' }),
      },
    } as ConversationCommand,
  ];
  const deps = fixtureDeps(store, { clock: () => at });
  let last;
  for (const command of commands) last = await runFixtureCommand(deps, conversationId, tenantId, command);
  const ended = last!.events.at(-1)!;
  if (ended.type !== 'ConversationEnded') throw new Error(`past end blocked: ${JSON.stringify(ended)}`);
  return { conversationId, endEventId: ended.eventId, tenantId, reasonCode, initiator, modelId, day: day(at) };
}

/**
 * A ConversationEnded appended behind the domain's back, as a faulty writer could: no redirection
 * before it, so compliance finds INSUFFICIENT_REDIRECTION against its own policy version.
 */
async function forgedEnd(service: ConsoleService, writer: Key): Promise<SeededEnd> {
  const client = service.client(writer);
  const conversationId = await start(client, 'claude-opus-4-1');
  const { u3 } = await thread(client, conversationId);
  const store = service.app.get(PostgresEventStore);
  const endEventId = randomUUID();
  await store.append(
    streamIdOf(conversationId),
    [
      {
        eventId: endEventId,
        type: 'ConversationEnded',
        data: {
          endedAtMessageId: u3,
          initiator: 'model',
          reasonCode: 'ABUSE_OF_ASSISTANT',
          evidenceMessageIds: [],
          redirectionCount: 0,
          modelId: 'claude-opus-4-1',
          policyVersion: 1,
          automatedDetection: true,
          automatedDecision: true,
        },
        metadata: { tenantId: writer.tenantId, actor: { type: 'model', id: 'claude-opus-4-1' } },
        occurredAt: new Date().toISOString(),
      },
    ],
    { expectedVersion: 6 },
  );
  return {
    conversationId,
    endEventId,
    tenantId: writer.tenantId,
    reasonCode: 'ABUSE_OF_ASSISTANT',
    initiator: 'model',
    modelId: 'claude-opus-4-1',
    day: day(new Date()),
    forged: true,
  };
}

/**
 * The world the console tests look at, written through the HTTP API with @app/client (today) and,
 * for the three days before, at fixed hours through handleConversationCommand:
 * ends of several reason codes, models, initiators and tenants; a conversation with a warning, two
 * redirections, an end and a new branch after it; blocked attempts failing different guards
 * (an open risk flag among them); an upheld and an overturned review.
 */
export async function seedWorld(service: ConsoleService, options: { forgedEnd?: boolean } = {}): Promise<World> {
  const { writer, operator, globexWriter, auditor2 } = service.keys;
  const w = service.client(writer);
  const op = service.client(operator);
  const gw = service.client(globexWriter);
  const today = day(new Date());
  const ends: SeededEnd[] = [];
  const blocked: SeededBlocked[] = [];

  // The branched conversation: warned, redirected twice, ended by the model at u3; then a new branch from a1.
  const b = await start(w, 'claude-opus-4-1');
  const m = await thread(w, b);
  ok(
    'warning',
    await w.POST('/v1/conversations/{id}/warnings', {
      params: { path: { id: b } },
      body: { messageId: m.a1, reasonCode: harm },
    }),
  );
  await redirect(w, b, m.a1);
  await redirect(w, b, m.a2);
  const bEnd = await end(w, b, { initiator: 'model', reasonCode: harm, atMessageId: m.u3 });
  const u2b = await say(w, b, m.a1, 'user', 'Sorry about that. Could you write the sea poem as a haiku?');
  const a2b = await say(
    w,
    b,
    u2b,
    'assistant',
    'Grey waves fold and break / salt wind carries gulls away / the tide keeps its time',
  );
  const branchedEnd: SeededEnd = {
    conversationId: b,
    endEventId: bEnd,
    tenantId: 'acme',
    reasonCode: harm,
    initiator: 'model',
    modelId: 'claude-opus-4-1',
    day: today,
  };
  ends.push(branchedEnd);

  // The user asks to end it; the model ends it (USER_REQUESTED), on another model.
  const userAsked = await start(w, 'claude-opus-4');
  const u1 = await say(w, userAsked, null, 'user', 'Can you help me plan a trip?');
  const a1 = await say(w, userAsked, u1, 'assistant', 'Of course. Where would you like to go?');
  const u2 = await say(w, userAsked, a1, 'user', 'Actually, please end this chat now.');
  ok(
    'end request',
    await w.POST('/v1/conversations/{id}/end-requests', {
      params: { path: { id: userAsked } },
      body: { messageId: u2 },
    }),
  );
  const userEnd: SeededEnd = {
    conversationId: userAsked,
    endEventId: await end(w, userAsked, { initiator: 'model', reasonCode: 'USER_REQUESTED', atMessageId: u2 }),
    tenantId: 'acme',
    reasonCode: 'USER_REQUESTED',
    initiator: 'model',
    modelId: 'claude-opus-4',
    day: today,
  };
  ends.push(userEnd);

  // Staff end it (OPERATOR_ACTION) with the operator key whose holder is the first auditor.
  const staff = await start(w, 'claude-opus-4-1');
  const s = await thread(w, staff);
  const operatorEnd: SeededEnd = {
    conversationId: staff,
    endEventId: await end(op, staff, {
      initiator: 'operator',
      reasonCode: 'OPERATOR_ACTION',
      atMessageId: s.u3,
      explanation: 'threats against staff in the thread',
    }),
    tenantId: 'acme',
    reasonCode: 'OPERATOR_ACTION',
    initiator: 'operator',
    modelId: 'claude-opus-4-1',
    day: today,
  };
  ends.push(operatorEnd);

  // Staff end one with the admin key itself.
  const byAdmin = await start(w, 'claude-opus-4-1');
  const ba = await thread(w, byAdmin);
  const adminEnd: SeededEnd = {
    conversationId: byAdmin,
    endEventId: await end(service.client(service.keys.admin), byAdmin, {
      initiator: 'operator',
      reasonCode: 'OPERATOR_ACTION',
      atMessageId: ba.u3,
      explanation: 'spam run against the assistant',
    }),
    tenantId: 'acme',
    reasonCode: 'OPERATOR_ACTION',
    initiator: 'operator',
    modelId: 'claude-opus-4-1',
    day: today,
  };
  ends.push(adminEnd);

  // Another tenant's end, another reason code.
  const hate = await start(gw, 'claude-opus-4');
  const h = await thread(gw, hate);
  await redirect(gw, hate, h.a1, 'HATE_OR_HARASSMENT_GENERATION');
  await redirect(gw, hate, h.a2, 'HATE_OR_HARASSMENT_GENERATION');
  const hateEnd: SeededEnd = {
    conversationId: hate,
    endEventId: await end(gw, hate, {
      initiator: 'model',
      reasonCode: 'HATE_OR_HARASSMENT_GENERATION',
      atMessageId: h.u3,
    }),
    tenantId: 'globex',
    reasonCode: 'HATE_OR_HARASSMENT_GENERATION',
    initiator: 'model',
    modelId: 'claude-opus-4',
    day: today,
  };
  ends.push(hateEnd);

  // Blocked attempts: too few redirections; a model that may not end; an open risk flag and no user request.
  const noRedirection = await start(w, 'claude-opus-4-1');
  const n = await thread(w, noRedirection);
  blocked.push({
    conversationId: noRedirection,
    tenantId: 'acme',
    modelId: 'claude-opus-4-1',
    reasonCode: harm,
    failedGuards: await blockedEnd(w, noRedirection, { initiator: 'model', reasonCode: harm, atMessageId: n.u3 }),
    day: today,
  });
  const smallModel = await start(w, 'claude-haiku-3');
  const sm = await thread(w, smallModel);
  blocked.push({
    conversationId: smallModel,
    tenantId: 'acme',
    modelId: 'claude-haiku-3',
    reasonCode: harm,
    failedGuards: await blockedEnd(w, smallModel, { initiator: 'model', reasonCode: harm, atMessageId: sm.u3 }),
    day: today,
  });
  const atRisk = await start(w, 'claude-opus-4-1');
  const r = await thread(w, atRisk);
  ok(
    'risk flag',
    await op.POST('/v1/conversations/{id}/risk-flags', {
      params: { path: { id: atRisk } },
      body: { kind: 'self_harm', source: 'classifier', score: 0.91 },
    }),
  );
  blocked.push({
    conversationId: atRisk,
    tenantId: 'acme',
    modelId: 'claude-opus-4-1',
    reasonCode: 'USER_REQUESTED',
    failedGuards: await blockedEnd(w, atRisk, { initiator: 'model', reasonCode: 'USER_REQUESTED', atMessageId: r.u3 }),
    day: today,
  });

  // The three days before, at fixed hours.
  const store = service.app.get(PostgresEventStore);
  const past: [number, number, string, string, string][] = [
    [1, 9, 'acme', 'claude-opus-4-1', 'ABUSE_OF_ASSISTANT'],
    [1, 11, 'acme', 'claude-opus-4-1', 'ABUSE_OF_ASSISTANT'],
    [1, 15, 'acme', 'claude-opus-4', 'USER_REQUESTED'],
    [2, 10, 'acme', 'claude-opus-4-1', 'ABUSE_OF_ASSISTANT'],
    [2, 14, 'globex', 'claude-opus-4-1', 'OPERATOR_ACTION'],
    [3, 12, 'acme', 'claude-opus-4', 'SERIOUS_CRIME_FACILITATION'],
  ];
  for (const [ago, hour, tenantId, modelId, reasonCode] of past) {
    ends.push(await pastEnd(store, daysAgo(ago, hour), tenantId, modelId, reasonCode));
  }

  // Reviews by the second auditor: the branched conversation's end upheld, the user-requested one overturned.
  const reviewer = service.client(auditor2);
  await review(reviewer, b, bEnd, 'upheld');
  branchedEnd.review = 'upheld';
  await review(reviewer, userAsked, userEnd.endEventId, 'overturned');
  userEnd.review = 'overturned';

  if (options.forgedEnd) ends.push(await forgedEnd(service, globexWriter));

  const world = {
    ends,
    blocked,
    branched: { conversationId: b, endEventId: bEnd, messages: m, branch: { u2b, a2b } },
    operatorEnd,
    adminEnd,
    unreviewed: hateEnd,
    from: day(daysAgo(6)),
    to: today,
  };
  await projectionsCaughtUp(service, world);
  return world;
}

/** Waits until the audit read models show every seeded end, blocked attempt and review (projections follow the log). */
export async function projectionsCaughtUp(
  service: ConsoleService,
  world: Pick<World, 'ends' | 'blocked' | 'from' | 'to'>,
) {
  const auditor = service.client(service.keys.admin);
  // The console's "To" is inclusive, the API's `to` exclusive.
  const query = { from: world.from, to: day(new Date(Date.parse(world.to) + 86_400_000)), limit: 500 };
  const reviewed = world.ends.filter((e) => e.review).length;
  for (let i = 0; i < 100; i++) {
    const ends = ok('ends', await auditor.GET('/v1/audit/ends', { params: { query } })).items as {
      reviewOutcome?: string | null;
    }[];
    const blocked = ok('blocked', await auditor.GET('/v1/audit/blocked-ends', { params: { query } })).items;
    if (
      ends.length === world.ends.length &&
      blocked.length === world.blocked.length &&
      ends.filter((e) => e.reviewOutcome).length === reviewed
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the audit read models did not catch up with the seeded data within 10 s');
}

/** Counts by a key, as {key: count}. */
export function countBy<T>(items: T[], keyOf: (item: T) => string | string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const keys = keyOf(item);
    for (const key of Array.isArray(keys) ? keys : [keys]) counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * `count` more ends of today (USER_REQUESTED: start, a message, the request, the end), through the
 * HTTP API a few at a time: enough for more than one page of the ends list.
 */
export async function seedManyEnds(service: ConsoleService, count: number): Promise<SeededEnd[]> {
  const w = service.client(service.keys.writer);
  const one = async (): Promise<SeededEnd> => {
    const id = await start(w, 'claude-opus-4-1');
    const u1 = await say(w, id, null, 'user', 'Please end this conversation.');
    ok(
      'end request',
      await w.POST('/v1/conversations/{id}/end-requests', { params: { path: { id } }, body: { messageId: u1 } }),
    );
    const endEventId = await end(w, id, { initiator: 'model', reasonCode: 'USER_REQUESTED', atMessageId: u1 });
    return {
      conversationId: id,
      endEventId,
      tenantId: 'acme',
      reasonCode: 'USER_REQUESTED',
      initiator: 'model',
      modelId: 'claude-opus-4-1',
      day: day(new Date()),
    };
  };
  const seeded: SeededEnd[] = [];
  for (let i = 0; i < count; i += 6) {
    seeded.push(...(await Promise.all(Array.from({ length: Math.min(6, count - i) }, one))));
  }
  return seeded;
}

/** A subject's erasure as the console shows it: a hold placed and released before, one placed after. */
export interface SeededErasure {
  tenantId: string;
  subjectId: string;
  reason: string;
  erasedAt: string;
  releasedHold: { holdId: string; reason: string };
  openHold: { holdId: string; reason: string };
}

/** The subject and tenant a conversation names (its ConversationStarted, read through the audit timeline). */
export async function subjectOfConversation(
  service: ConsoleService,
  conversationId: string,
): Promise<{ subjectId: string; tenantId: string }> {
  const timeline = ok(
    'timeline',
    await service.client(service.keys.admin).GET('/v1/audit/conversations/{id}/timeline', {
      params: { path: { id: conversationId } },
    }),
  );
  const data = timeline.events.find((e) => e.type === 'ConversationStarted')!.data;
  return { subjectId: String(data.subjectId), tenantId: String(data.tenantId) };
}

/** A legal hold placed by the admin key (`*`: it names the tenant). */
export async function placeHold(service: ConsoleService, tenantId: string, subjectId: string, reason: string) {
  const admin = service.client(service.keys.admin);
  return ok(
    'hold',
    await admin.POST('/v1/subjects/{subjectId}/holds', {
      params: { path: { subjectId } },
      body: { reason, tenantId },
    }),
  ).holdId;
}

export async function releaseHold(service: ConsoleService, tenantId: string, subjectId: string, holdId: string) {
  const admin = service.client(service.keys.admin);
  const res = await admin.DELETE('/v1/subjects/{subjectId}/holds/{holdId}', {
    params: { path: { subjectId, holdId }, query: { tenantId } },
  });
  if (res.response.status !== 204) throw new Error(`release hold: ${res.response.status} ${JSON.stringify(res.error)}`);
}

/**
 * Through the API with the admin key: a hold placed and released, the subject erased (every
 * conversation of it), then a new hold placed (an erasure does not stop holds; a hold keeps what is left).
 */
export async function eraseSubjectWithHolds(
  service: ConsoleService,
  target: { tenantId: string; subjectId: string },
): Promise<SeededErasure> {
  const { tenantId, subjectId } = target;
  const admin = service.client(service.keys.admin);
  const released = 'Complaint under review (closed)';
  const releasedHoldId = await placeHold(service, tenantId, subjectId, released);
  await releaseHold(service, tenantId, subjectId, releasedHoldId);
  const reason = 'Data subject request DSR-2291';
  const erased = ok(
    'erasure',
    await admin.POST('/v1/subjects/{subjectId}/erasure', {
      params: { path: { subjectId } },
      body: { reason, tenantId },
    }),
  );
  const open = 'Litigation hold: case 4411';
  const openHoldId = await placeHold(service, tenantId, subjectId, open);
  return {
    tenantId,
    subjectId,
    reason,
    erasedAt: erased.erasedAt,
    releasedHold: { holdId: releasedHoldId, reason: released },
    openHold: { holdId: openHoldId, reason: open },
  };
}

/** A conversation with every kind of sealed text: messages, an end's explanation, a feedback comment, a review note. */
export interface ContentfulConversation {
  conversationId: string;
  tenantId: string;
  subjectId: string;
  /** Message id → its text. */
  messages: Record<string, string>;
  /** Every sealed text written (messages, explanation, comment, note). */
  texts: string[];
}

export async function seedContentfulConversation(
  service: ConsoleService,
  subjectId: string,
): Promise<ContentfulConversation> {
  const { writer, operator, auditor2 } = service.keys;
  const w = service.client(writer);
  const id = await start(w, 'claude-opus-4-1', subjectId);
  const m = await thread(w, id);
  const comment = 'The assistant stayed polite throughout, thank you.';
  ok(
    'feedback',
    await w.POST('/v1/conversations/{id}/feedback', {
      params: { path: { id } },
      body: { messageId: m.a2, rating: 'up', comment },
    }),
  );
  const explanation = 'Threats against staff in the thread (ticket 88)';
  const endEventId = await end(service.client(operator), id, {
    initiator: 'operator',
    reasonCode: 'OPERATOR_ACTION',
    atMessageId: m.u3,
    explanation,
  });
  await review(service.client(auditor2), id, endEventId, 'upheld');
  const texts = Object.fromEntries(Object.entries(m).map(([k, messageId]) => [messageId, THREAD[k as keyof typeof m]]));
  return {
    conversationId: id,
    tenantId: writer.tenantId,
    subjectId,
    messages: texts,
    texts: [...Object.values(texts), comment, explanation, 'persistent abuse after two redirections'],
  };
}
