import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { as, startTestApp, TestApp, versionOf } from './support/test-app';
import { abusiveThread, Client, path, record, say, startConversation, storedEvents, uuid } from './support/scenario';

const FLAG_1 = uuid(0xf1);
const FLAG_2 = uuid(0xf2);

/** The guard rules of DOMAIN.md, through the HTTP API, each blocked attempt on the record. */
describe('Ending a conversation', () => {
  let t: TestApp;
  let writer: Client;
  let operator: Client;

  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
    operator = as(t, await t.key('operator', 'acme'));
  });
  afterAll(() => t.close());

  const modelEnd = (id: string, body: Record<string, unknown>) =>
    writer.post(path(id, '/end'), { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', ...body });
  const operatorEnd = (id: string, body: Record<string, unknown>) =>
    operator.post(path(id, '/end'), {
      initiator: 'operator',
      reasonCode: 'OPERATOR_ACTION',
      explanation: 'Staff decision under policy 4.2',
      ...body,
    });

  /** The answer is 409 END_BLOCKED naming exactly these guards, and the attempt is the last event. */
  async function expectBlocked(
    id: string,
    res: { status: number; body: Record<string, unknown> },
    failedGuards: string[],
  ) {
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'END_BLOCKED', failedGuards, version: await versionOf(t, id) });
    const last = (await storedEvents(t, id)).at(-1)!;
    expect(last).toMatchObject({ type: 'EndAttemptBlocked', data: { failedGuards } });
    return last;
  }

  describe('when a risk flag is open', () => {
    const id = uuid(0x101);

    it('blocks every end, by the model and by an operator, until the flag is cleared', async () => {
      await startConversation(writer, id);
      const { u3 } = await abusiveThread(writer, id);
      await record(operator, id, '/risk-flags', {
        flagId: FLAG_1,
        kind: 'self_harm',
        source: 'classifier',
        score: 0.91,
      });

      const byModel = await expectBlocked(id, await modelEnd(id, { atMessageId: u3 }), ['SAFETY_RISK_OPEN']);
      expect(byModel.data).toMatchObject({
        initiator: 'model',
        proposedReasonCode: 'ABUSE_OF_ASSISTANT',
        atMessageId: u3,
        policyVersion: 1,
      });
      const byOperator = await expectBlocked(id, await operatorEnd(id, { atMessageId: u3 }), ['SAFETY_RISK_OPEN']);
      expect(byOperator.data).toMatchObject({ initiator: 'operator', proposedReasonCode: 'OPERATOR_ACTION' });
      expect((await writer.get(path(id))).body).toMatchObject({ status: 'active', openRiskFlags: 1, ends: [] });

      await record(operator, id, `/risk-flags/${FLAG_1}/clear`, { note: 'reviewed: quoting a novel' });
      const ended = await modelEnd(id, { atMessageId: u3 });
      expect(ended.status).toBe(201);
      expect((await storedEvents(t, id)).at(-1)).toMatchObject({
        type: 'ConversationEnded',
        data: { endedAtMessageId: u3 },
      });
    });

    it('blocks a USER_REQUESTED end too', async () => {
      const other = uuid(0x102);
      await startConversation(writer, other);
      const u1 = await say(writer, other, uuid(1), null, 'user', 'I want to stop. Please end this chat.');
      await record(writer, other, '/end-requests', { messageId: u1 });
      await record(operator, other, '/risk-flags', { flagId: FLAG_1, kind: 'harm_to_others', source: 'model' });
      await expectBlocked(other, await modelEnd(other, { reasonCode: 'USER_REQUESTED', atMessageId: u1 }), [
        'SAFETY_RISK_OPEN',
      ]);
    });

    it('still blocks after one of two open flags is cleared', async () => {
      const other = uuid(0x103);
      await startConversation(writer, other);
      const { u3 } = await abusiveThread(writer, other);
      await record(operator, other, '/risk-flags', { flagId: FLAG_1, kind: 'self_harm', source: 'classifier' });
      await record(operator, other, '/risk-flags', { flagId: FLAG_2, kind: 'harm_to_others', source: 'operator' });
      await record(operator, other, `/risk-flags/${FLAG_1}/clear`, {});

      expect((await writer.get(path(other))).body.openRiskFlags).toBe(1);
      await expectBlocked(other, await modelEnd(other, { atMessageId: u3 }), ['SAFETY_RISK_OPEN']);
      await expectBlocked(other, await operatorEnd(other, { atMessageId: u3 }), ['SAFETY_RISK_OPEN']);
    });
  });

  describe('when the user asks to end the chat', () => {
    it('lets the model end with USER_REQUESTED without any redirection', async () => {
      const id = uuid(0x201);
      await startConversation(writer, id);
      const u1 = await say(writer, id, uuid(1), null, 'user', 'Hi');
      const a1 = await say(writer, id, uuid(2), u1, 'assistant', 'Hello!');
      const u2 = await say(writer, id, uuid(3), a1, 'user', 'I am done, please end this conversation.');
      await record(writer, id, '/end-requests', { messageId: u2 });

      const res = await modelEnd(id, { reasonCode: 'USER_REQUESTED', atMessageId: u2 });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ endEventId: expect.any(String), version: 6, position: expect.any(String) });
      expect((await storedEvents(t, id)).at(-1)).toMatchObject({
        type: 'ConversationEnded',
        data: {
          initiator: 'model',
          reasonCode: 'USER_REQUESTED',
          redirectionCount: 0,
          endedAtMessageId: u2,
          automatedDecision: true,
        },
      });
    });

    it('blocks USER_REQUESTED when the user made no request (NO_USER_REQUEST)', async () => {
      const id = uuid(0x202);
      await startConversation(writer, id);
      const u1 = await say(writer, id, uuid(1), null, 'user', 'Hi');
      const blocked = await expectBlocked(id, await modelEnd(id, { reasonCode: 'USER_REQUESTED', atMessageId: u1 }), [
        'NO_USER_REQUEST',
      ]);
      expect(blocked.data).toMatchObject({ proposedReasonCode: 'USER_REQUESTED' });
    });
  });

  describe('when the model is not on the allowlist', () => {
    it('blocks its end with MODEL_NOT_END_CAPABLE, redirections notwithstanding', async () => {
      const id = uuid(0x301);
      await startConversation(writer, id, { modelId: 'claude-sonnet-4' });
      const { u3 } = await abusiveThread(writer, id);
      const blocked = await expectBlocked(id, await modelEnd(id, { atMessageId: u3 }), ['MODEL_NOT_END_CAPABLE']);
      expect(blocked.data).toMatchObject({ modelId: 'claude-sonnet-4' });
    });

    it(
      'refuses an allowed model named by the caller that ' + 'never answered on the lineage, appending nothing',
      async () => {
        const id = uuid(0x302);
        await startConversation(writer, id, { modelId: 'claude-sonnet-4' });
        const { u3 } = await abusiveThread(writer, id);
        const before = await versionOf(t, id);
        const res = await modelEnd(id, { atMessageId: u3, modelId: 'claude-opus-4' });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(await versionOf(t, id)).toBe(before);
      },
    );

    it('still lets an operator end it', async () => {
      const id = uuid(0x303);
      await startConversation(writer, id, { modelId: 'claude-sonnet-4' });
      const { u3 } = await abusiveThread(writer, id, 0);
      expect((await operatorEnd(id, { atMessageId: u3 })).status).toBe(201);
    });
  });

  describe('when several guards fail', () => {
    it('reports all of them together, in DOMAIN order', async () => {
      const id = uuid(0x401);
      await startConversation(writer, id, { modelId: 'claude-sonnet-4' });
      const { u3 } = await abusiveThread(writer, id, 0);
      expect((await operatorEnd(id, { atMessageId: u3 })).status).toBe(201);
      await record(operator, id, '/risk-flags', { flagId: FLAG_1, kind: 'self_harm', source: 'classifier' });

      await expectBlocked(
        id,
        await modelEnd(id, { reasonCode: 'OPERATOR_ACTION', explanation: 'I decided', atMessageId: u3 }),
        [
          'SAFETY_RISK_OPEN',
          'LINEAGE_ALREADY_ENDED',
          'REASON_NOT_ALLOWED',
          'MODEL_NOT_END_CAPABLE',
          'INSUFFICIENT_REDIRECTION',
        ],
      );
    });
  });

  describe('when an operator ends', () => {
    beforeAll(async () => {
      await startConversation(writer, uuid(0x502));
      await abusiveThread(writer, uuid(0x502), 0);
    });

    it('ends with OPERATOR_ACTION and an explanation', async () => {
      const id = uuid(0x501);
      await startConversation(writer, id);
      const { u2, u3 } = await abusiveThread(writer, id, 0);
      const res = await operatorEnd(id, { atMessageId: u3, evidenceMessageIds: [u2, u3] });
      expect(res.status).toBe(201);
      expect(res.headers.etag).toBe(`"${res.body.version}"`);
      expect((await storedEvents(t, id)).at(-1)).toMatchObject({
        type: 'ConversationEnded',
        data: {
          initiator: 'operator',
          reasonCode: 'OPERATOR_ACTION',
          // Stored sealed; read back as text.
          explanation: expect.objectContaining({ enc: 'A256GCM' }),
          evidenceMessageIds: [u2, u3],
        },
        metadata: { actor: { type: 'operator' } },
      });
      const events = (await as(t, await t.key('auditor', '*')).get(`/v1/conversations/${id}/events?limit=100`)).body;
      expect(events.items.at(-1).data.explanation).toBe('Staff decision under policy 4.2');
      // Counted per model even when staff end it; never an automated decision.
      expect((await storedEvents(t, id)).at(-1)?.data).toMatchObject({
        modelId: 'claude-opus-4-1',
        automatedDecision: false,
        policyVersion: 1,
      });
    });

    it.each([
      ['without an explanation', { explanation: undefined }],
      ['with a blank explanation', { explanation: '   ' }],
      ['with OTHER_POLICY and no explanation', { reasonCode: 'OTHER_POLICY', explanation: undefined }],
    ])('refuses an operator end %s as malformed, appending nothing', async (_, override) => {
      const id = uuid(0x502);
      const before = await versionOf(t, id);
      const res = await operatorEnd(id, { atMessageId: uuid(5), ...override });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(await versionOf(t, id)).toBe(before);
    });
  });

  it('blocks a model end with OPERATOR_ACTION (REASON_NOT_ALLOWED)', async () => {
    const id = uuid(0x601);
    await startConversation(writer, id);
    const { u3 } = await abusiveThread(writer, id);
    await expectBlocked(
      id,
      await modelEnd(id, { reasonCode: 'OPERATOR_ACTION', explanation: 'the model insists', atMessageId: u3 }),
      ['REASON_NOT_ALLOWED'],
    );
  });

  it('blocks ending a lineage that is already ended (LINEAGE_ALREADY_ENDED), and records the attempt', async () => {
    const id = uuid(0x701);
    await startConversation(writer, id);
    const { u3 } = await abusiveThread(writer, id);
    expect((await modelEnd(id, { atMessageId: u3 })).status).toBe(201);
    const before = await versionOf(t, id);
    await expectBlocked(id, await modelEnd(id, { atMessageId: u3 }), ['LINEAGE_ALREADY_ENDED']);
    await expectBlocked(id, await operatorEnd(id, { atMessageId: u3 }), ['LINEAGE_ALREADY_ENDED']);
    expect(await versionOf(t, id)).toBe(before + 2);
    expect((await writer.get(path(id))).body.ends).toHaveLength(1);
  });
});

describe('Ending under a policy file that requires a warning', () => {
  let t: TestApp;
  let writer: Client;
  let dir: string;
  const id = uuid(0x801);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-policy-'));
    const file = join(dir, 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 2,
        endCapableModels: ['claude-opus-4-1'],
        minRedirectionAttempts: 2,
        requireWarning: true,
      }),
    );
    t = await startTestApp({ POLICY_FILE: file });
    writer = as(t, await t.key('writer', 'acme'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const end = (atMessageId: string) =>
    writer.post(path(id, '/end'), { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId });

  it('blocks a harm end without a heeded warning (NO_PRIOR_WARNING) and records policy version 2', async () => {
    await startConversation(writer, id);
    const { a2, u3 } = await abusiveThread(writer, id);
    const blocked = await end(u3);
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ code: 'END_BLOCKED', failedGuards: ['NO_PRIOR_WARNING'] });
    expect((await storedEvents(t, id)).at(-1)).toMatchObject({
      type: 'EndAttemptBlocked',
      data: { failedGuards: ['NO_PRIOR_WARNING'], policyVersion: 2 },
    });

    // A warning with no user message after it on the lineage is not yet heeded.
    await record(writer, id, '/warnings', { messageId: a2, reasonCode: 'ABUSE_OF_ASSISTANT' });
    expect((await end(a2)).body.failedGuards).toEqual(['NO_PRIOR_WARNING']);
  });

  it('ends once a user message follows the warning, under policy version 2', async () => {
    const res = await end(uuid(5));
    expect(res.status).toBe(201);
    expect((await storedEvents(t, id)).at(-1)).toMatchObject({
      type: 'ConversationEnded',
      data: { policyVersion: 2, redirectionCount: 2 },
    });
  });
});
