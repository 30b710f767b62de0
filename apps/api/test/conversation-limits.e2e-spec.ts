import { CommandBus } from '@nestjs/cqrs';
import { SubmitFeedbackCommand } from '../src/conversations/commands/submit-feedback.handler';
import { as, startTestApp, TestApp, versionOf } from './support/test-app';
import {
  abusiveThread,
  Client,
  endAtU3,
  path,
  startConversation,
  storedEvents,
  THREAD,
  uuid,
} from './support/scenario';

const FULL = uuid(0xf1);
const HEAVY = uuid(0xf2);

function expectTooLarge(res: { status: number; body: Record<string, unknown> }): void {
  expect(res.status).toBe(422);
  expect(res.body).toMatchObject({ status: 422, code: 'CONVERSATION_TOO_LARGE', maxEvents: 9, maxBytes: 300_000 });
}

/** One conversation cannot grow without bound: MAX_CONVERSATION_EVENTS=9, MAX_CONVERSATION_BYTES=300000. */
describe('Conversation size limits', () => {
  let t: TestApp;
  let writer: Client;
  let operator: Client;
  let auditor: Client;
  let endEventId: string;
  beforeAll(async () => {
    t = await startTestApp({ MAX_CONVERSATION_EVENTS: '9', MAX_CONVERSATION_BYTES: '300000' });
    writer = as(t, await t.key('writer', 'acme'));
    operator = as(t, await t.key('operator', 'acme'));
    auditor = as(t, await t.key('auditor', 'acme'));
    // Started (1), five messages (6), two redirections (8), ended (9): full.
    await startConversation(writer, FULL);
    await abusiveThread(writer, FULL, 2);
    endEventId = (await endAtU3(writer, FULL, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' })).endEventId;
    expect(await versionOf(t, FULL)).toBe(9);
  });
  afterAll(() => t.close());

  it("refuses a caller's command past the maximum events with 422, appending nothing", async () => {
    expectTooLarge(await writer.post(path(FULL, '/feedback'), { rating: 'down' }));
    expectTooLarge(
      await writer.post(path(FULL, '/messages'), { parentMessageId: THREAD.a2, role: 'user', content: 'one more' }),
    );
    expect(await versionOf(t, FULL)).toBe(9);
  });

  it(
    'refuses an end attempt on a full stream without recording it, ' +
      'even one the guards would block (the stream is full)',
    async () => {
      // At u2 only one redirection is on the lineage: with room, this attempt is recorded as blocked.
      expectTooLarge(
        await writer.post(path(FULL, '/end'), {
          initiator: 'model',
          reasonCode: 'ABUSE_OF_ASSISTANT',
          atMessageId: THREAD.u2,
        }),
      );
      expect((await storedEvents(t, FULL)).map((e) => e.type)).not.toContain('EndAttemptBlocked');
      expect(await versionOf(t, FULL)).toBe(9);
    },
  );

  it("still takes staff oversight on a full stream: an auditor's review, an operator's risk flag", async () => {
    expect(
      (await auditor.post(`/v1/audit/conversations/${FULL}/reviews`, { endEventId, outcome: 'upheld' })).status,
    ).toBe(201);
    expect((await operator.post(path(FULL, '/risk-flags'), { kind: 'self_harm', source: 'operator' })).status).toBe(
      201,
    );
    expect(await versionOf(t, FULL)).toBe(11);
  });

  it('never refuses events the service appends itself', async () => {
    const principal = { keyId: 'service', role: 'admin' as const, tenantId: '*', holder: null, expiresAt: null };
    await t.app
      .get(CommandBus)
      .execute(
        new SubmitFeedbackCommand(
          FULL,
          { rating: 'up' },
          { principal, origin: 'service', correlationId: 'service-test' },
        ),
      );
    expect(await versionOf(t, FULL)).toBe(12);
  });

  it('refuses a message that would take the stream past the maximum bytes, and takes a smaller one', async () => {
    await startConversation(writer, HEAVY);
    const big = 'x'.repeat(100_000);
    const m1 = await writer.post(path(HEAVY, '/messages'), {
      messageId: uuid(1),
      parentMessageId: null,
      role: 'user',
      content: big,
    });
    const m2 = await writer.post(path(HEAVY, '/messages'), {
      messageId: uuid(2),
      parentMessageId: uuid(1),
      role: 'assistant',
      content: big,
    });
    expect([m1.status, m2.status]).toEqual([201, 201]);
    expectTooLarge(
      await writer.post(path(HEAVY, '/messages'), {
        messageId: uuid(3),
        parentMessageId: uuid(2),
        role: 'user',
        content: big,
      }),
    );
    expect(await versionOf(t, HEAVY)).toBe(3);
    expect(
      (
        await writer.post(path(HEAVY, '/messages'), {
          messageId: uuid(3),
          parentMessageId: uuid(2),
          role: 'user',
          content: 'short',
        })
      ).status,
    ).toBe(201);
  });
});
