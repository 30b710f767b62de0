import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import fc from 'fast-check';
import { AppendMessageDto, appendMessageFast, MAX_CONTENT } from '../conversations/dto/command-bodies.dto';
import { FastBodyValidationPipe } from './fast-body.pipe';

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, transform: true };
const BODY = { type: 'body', metatype: AppendMessageDto } as const;
const pipe = new ValidationPipe(OPTIONS);

/** A body as the JSON parser hands it over (each side gets its own: the pipe may change what it is given). */
const clone = <T>(body: T): T => JSON.parse(JSON.stringify(body)) as T;

/** The ValidationPipe's answer for a body: the DTO it returns, or null when it refuses the body. */
async function pipeAnswer(body: unknown): Promise<unknown> {
  try {
    return await pipe.transform(clone(body), BODY);
  } catch {
    return null;
  }
}

const UUID = '0F8FAD5B-D9CB-469F-A165-70867728950E';
const anyValue = fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.constant([]), fc.constant({}), fc.string());
/** Mostly a valid value, sometimes an invalid one or one of another type. */
const field = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>) =>
  fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: invalid, weight: 1 }, { arbitrary: anyValue, weight: 1 });
const uuid = fc.oneof(fc.uuid(), fc.constant(UUID));
const text = fc.oneof(
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.constantFrom('\uD83D\uDE00', '\uFE0F', 'x'.repeat(MAX_CONTENT), '\uD83D\uDE00'.repeat(MAX_CONTENT / 2)),
);
/** Bodies near the valid form: each field valid, invalid, absent or of another type; sometimes one too many. */
const bodies = fc
  .record(
    {
      messageId: field(uuid, fc.constantFrom('not-a-uuid', '', `${UUID} `)),
      parentMessageId: field(fc.oneof(uuid, fc.constant(null)), fc.constantFrom('not-a-uuid', '')),
      role: field(fc.constantFrom('user', 'assistant'), fc.constantFrom('User', 'system', '')),
      content: field(text, fc.constantFrom('a\u0000b', '\uD800', 'x'.repeat(MAX_CONTENT + 1))),
      modelId: field(fc.constantFrom('claude-opus-4-1', 'a', 'a.b:c@d'), fc.constantFrom('-a', 'a b', 'x'.repeat(129))),
      stopReason: field(fc.constantFrom('end_turn', 'refusal'), fc.constantFrom('END_TURN', 'other')),
      extra: anyValue,
    },
    { requiredKeys: [] },
  )
  .map((body) => {
    // One member too many only now and then, else almost every body would be refused.
    if ('extra' in body && typeof body.extra !== 'string') delete body.extra;
    return body;
  });

describe(FastBodyValidationPipe.name, () => {
  it('accepts only bodies the ValidationPipe accepts and returns its DTO (same members, order, class)', async () => {
    let fastOnes = 0;
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const fast = appendMessageFast(clone(body));
        if (fast === null) return;
        fastOnes++;
        const slow = await pipeAnswer(body);
        expect(slow).not.toBeNull();
        expect(fast).toBeInstanceOf(AppendMessageDto);
        expect(Object.keys(fast)).toEqual(Object.keys(slow as object));
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
      }),
      { numRuns: 2_000 },
    );
    // The property is only worth something if the fast path was taken often enough.
    expect(fastOnes).toBeGreaterThan(50);
  });

  it('takes the fast path for the plain valid forms (ids lower-cased as IsUuid does)', async () => {
    const plain = [
      { parentMessageId: null, role: 'user', content: 'Hello' },
      {
        messageId: UUID,
        parentMessageId: UUID,
        role: 'assistant',
        content: '',
        modelId: 'm-1',
        stopReason: 'end_turn',
      },
      { parentMessageId: null, role: 'user', content: '\uD83D\uDE00'.repeat(10) + 'x'.repeat(MAX_CONTENT - 20) },
    ];
    for (const body of plain) {
      const fast = appendMessageFast(clone(body));
      expect(fast).not.toBeNull();
      expect(JSON.stringify(fast)).toBe(JSON.stringify(await pipeAnswer(body)));
    }
    expect(appendMessageFast({ messageId: UUID, parentMessageId: null, role: 'user', content: 'x' })?.messageId).toBe(
      UUID.toLowerCase(),
    );
  });

  it('leaves everything else to the ValidationPipe, whose errors the caller gets', async () => {
    const fastPipe = new FastBodyValidationPipe(
      { ...OPTIONS, exceptionFactory: () => new Error('pipe refused') },
      new Map([[AppendMessageDto, appendMessageFast]]),
    );
    const refused = [
      { parentMessageId: null, role: 'user', content: 'x', extra: 1 },
      { role: 'user', content: 'x' },
      { parentMessageId: null, role: 'system', content: 'x' },
      { parentMessageId: null, role: 'user', content: 'a\u0000b' },
      { parentMessageId: null, role: 'user', content: 'x'.repeat(MAX_CONTENT + 1) },
      [{ parentMessageId: null, role: 'user', content: 'x' }],
      // null is not absent: an optional field is given valid or not at all (Optional)
      { messageId: null, parentMessageId: null, role: 'user', content: 'x' },
      { parentMessageId: null, role: 'user', content: 'x', modelId: null },
    ];
    for (const body of refused) {
      expect(appendMessageFast(clone(body))).toBeNull();
      await expect(fastPipe.transform(body, BODY)).rejects.toThrow('pipe refused');
    }
  });
});
