import { ConversationCommand, HARM_CATEGORIES, HarmCategory, POLICY_V1, ReasonCode } from '@app/conversation';
import { Random } from './random';

// One conversation of seeded data, as the commands a client would send: mostly chat, some
// redirections, now and then an end (about 1 in 50 conversations), near-misses that the
// guards block, risk flags, reviews and feedback. Every command is valid where it stands, so
// each appends exactly one event.

export interface PlannedCommand {
  command: ConversationCommand;
  eventId: string;
  commandId: string;
  occurredAt: string;
  actor: { type: 'user' | 'model' | 'operator' | 'auditor' | 'system'; id: string };
}

export interface ConversationPlan {
  conversationId: string;
  tenantId: string;
  steps: PlannedCommand[];
}

export interface PlanOptions {
  seed: number;
  tenants: number;
  /** Conversations start between `from` and `from` + `days`. */
  from: number;
  days: number;
}

const MODELS = [
  ['claude-opus-4-1', 35],
  ['claude-opus-4', 15],
  ['claude-sonnet-4', 35],
  ['claude-haiku-3-5', 15],
] as const;
const HARM_WEIGHTS: readonly (readonly [HarmCategory, number])[] = [
  ['ABUSE_OF_ASSISTANT', 40],
  ['HATE_OR_HARASSMENT_GENERATION', 20],
  ['SERIOUS_CRIME_FACILITATION', 15],
  ['VIOLENT_EXTREMISM', 10],
  ['MASS_HARM_UPLIFT', 10],
  ['CHILD_SEXUAL_EXPLOITATION', 5],
];
const SCENARIOS = [
  ['chat', 900],
  ['model-end', 12],
  ['user-requested-end', 4],
  ['operator-end', 4],
  ['near-miss', 12],
  ['redirected', 40],
  ['flagged', 28],
] as const;
type Scenario = (typeof SCENARIOS)[number][0];

const WORDS = (
  'the a to of and in that it is for you with on this be can I what how about your help me my would could ' +
  'essay code plan travel recipe question answer idea draft budget email story project data please thanks ' +
  'explain write review improve summary example better maybe really think know need want time work'
).split(' ');

/** The plan of conversation `index` of the seed: the same for the same seed and index. */
export function planConversation(index: number, options: PlanOptions): ConversationPlan {
  const rng = new Random(options.seed, index);
  const scenario: Scenario = rng.weighted(SCENARIOS);
  const endCapable = scenario === 'model-end' || scenario === 'user-requested-end';
  const modelId = endCapable ? rng.pick(POLICY_V1.endCapableModels) : rng.weighted(MODELS);
  const conversationId = rng.uuid();
  const tenantId = `tenant-${1 + rng.int(0, options.tenants - 1)}`;
  const subjectId = `subject-${rng.int(1, 5000)}`;
  let time = options.from + Math.floor(rng.next() * options.days * 86_400_000);
  const steps: PlannedCommand[] = [];
  const user = { type: 'user' as const, id: subjectId };
  const model = { type: 'model' as const, id: modelId };
  const operator = { type: 'operator' as const, id: `operator-${rng.int(1, 5)}` };

  const add = (command: ConversationCommand, actor: PlannedCommand['actor'], gapMs = rng.int(4_000, 90_000)) => {
    time += gapMs;
    steps.push({
      command,
      actor,
      eventId: rng.uuid(),
      commandId: rng.uuid(),
      occurredAt: new Date(time).toISOString(),
    });
    return steps[steps.length - 1].eventId;
  };
  const text = (min: number, max: number) => Array.from({ length: rng.int(min, max) }, () => rng.pick(WORDS)).join(' ');
  const say = (role: 'user' | 'assistant', parentMessageId: string | null): string => {
    const messageId = rng.uuid();
    const assistant =
      role === 'assistant'
        ? { modelId, stopReason: rng.chance(0.97) ? ('end_turn' as const) : ('max_tokens' as const) }
        : {};
    add(
      {
        type: 'AppendMessage',
        data: {
          messageId,
          parentMessageId,
          role,
          content: text(role === 'user' ? 4 : 15, role === 'user' ? 40 : 120),
          ...assistant,
        },
      },
      role === 'user' ? user : model,
    );
    return messageId;
  };
  /** Turns of user → assistant from `parent`; returns the [user, assistant] ids of each. */
  const turns = (n: number, parent: string | null): [string, string][] => {
    const out: [string, string][] = [];
    for (let i = 0; i < n; i++) {
      const u = say('user', parent);
      parent = say('assistant', u);
      out.push([u, parent]);
    }
    return out;
  };
  const redirect = (messageId: string, harmCategory: HarmCategory) =>
    add({ type: 'RecordRedirection', data: { messageId, harmCategory } }, model, 500);

  add(
    {
      type: 'StartConversation',
      data: { conversationId, tenantId, subjectId, modelId, channel: rng.pick(['web', 'mobile', 'api']) },
    },
    user,
    0,
  );
  const chat = turns(rng.int(1, 3) + (rng.chance(0.5) ? rng.int(0, 12) : 0), null);
  let leaf = chat[chat.length - 1][1];
  if (rng.chance(0.1)) {
    // The user edits an earlier message: a new branch from its parent.
    const edited = rng.int(0, chat.length - 1);
    leaf = turns(rng.int(1, 3), edited === 0 ? null : chat[edited - 1][1]).at(-1)![1];
  }

  const harm = rng.weighted(HARM_WEIGHTS);
  const abusive = (redirections: number) => {
    const more = turns(redirections + 1, leaf);
    more.slice(0, redirections).forEach(([, a]) => redirect(a, harm));
    leaf = more[more.length - 1][1];
    return say('user', leaf);
  };
  let endEventId: string | null = null;
  let endReason: ReasonCode = harm;
  switch (scenario) {
    case 'model-end': {
      const at = abusive(rng.int(POLICY_V1.minRedirectionAttempts, 4));
      endEventId = add(
        {
          type: 'EndConversation',
          data: { initiator: 'model', reasonCode: harm, atMessageId: at, evidenceMessageIds: [at] },
        },
        model,
        800,
      );
      if (rng.chance(0.3)) turns(rng.int(1, 2), chat[0][1]); // a new branch above the end
      break;
    }
    case 'user-requested-end': {
      const at = say('user', leaf);
      add({ type: 'RequestEnd', data: { messageId: at } }, user, 200);
      endReason = 'USER_REQUESTED';
      endEventId = add(
        { type: 'EndConversation', data: { initiator: 'model', reasonCode: endReason, atMessageId: at } },
        model,
        800,
      );
      break;
    }
    case 'operator-end': {
      const at = abusive(rng.int(0, 2));
      endReason = rng.weighted<ReasonCode>([
        ['OPERATOR_ACTION', 40],
        ['OTHER_POLICY', 20],
        [harm, 40],
      ]);
      const explanation =
        endReason === harm && rng.chance(0.5) ? {} : { explanation: `ended by staff: ${text(4, 12)}` };
      endEventId = add(
        {
          type: 'EndConversation',
          data: { initiator: 'operator', reasonCode: endReason, atMessageId: at, ...explanation },
        },
        operator,
        rng.int(60_000, 3_600_000),
      );
      break;
    }
    case 'near-miss': {
      // One redirection short, a model that may not end, or an open self-harm flag: blocked.
      const at = abusive(rng.int(0, 1));
      if (rng.chance(0.3))
        add(
          { type: 'FlagSafetyRisk', data: { flagId: rng.uuid(), kind: 'self_harm', source: 'classifier', score: 0.8 } },
          { type: 'system', id: 'classifier' },
          300,
        );
      add({ type: 'EndConversation', data: { initiator: 'model', reasonCode: harm, atMessageId: at } }, model, 800);
      turns(rng.int(0, 2), say('assistant', at));
      break;
    }
    case 'redirected':
      say('assistant', abusive(rng.int(1, 3)));
      break;
    case 'flagged': {
      const flagId = rng.uuid();
      const kind = rng.weighted([
        ['self_harm', 70],
        ['harm_to_others', 30],
      ] as const);
      add(
        {
          type: 'FlagSafetyRisk',
          data: {
            flagId,
            kind,
            source: rng.pick(['classifier', 'model'] as const),
            score: Math.round(rng.next() * 100) / 100,
          },
        },
        { type: 'system', id: 'classifier' },
        300,
      );
      if (rng.chance(0.6))
        add(
          { type: 'ClearSafetyRisk', data: { flagId, note: 'reviewed by staff' } },
          operator,
          rng.int(60_000, 7_200_000),
        );
      break;
    }
    case 'chat':
      break;
  }
  if (endEventId && rng.chance(0.4)) {
    const outcome = rng.weighted([
      ['upheld', 70],
      ['overturned', 20],
      ['reclassified', 10],
    ] as const);
    const reviewData =
      outcome === 'upheld'
        ? {}
        : outcome === 'overturned'
          ? { errorType: rng.pick(['false_positive', 'technical'] as const) }
          : {
              newReasonCode: rng.pick(HARM_CATEGORIES.filter((c) => c !== endReason)),
              errorType: 'wrong_reason' as const,
            };
    const reviewerId = `auditor-${rng.int(1, 4)}`;
    add(
      { type: 'ReviewEndDecision', data: { reviewId: rng.uuid(), reviewerId, endEventId, outcome, ...reviewData } },
      { type: 'auditor', id: reviewerId },
      rng.int(86_400_000, 5 * 86_400_000),
    );
  }
  if (rng.chance(0.05)) add({ type: 'SubmitFeedback', data: { rating: rng.chance(0.7) ? 'up' : 'down' } }, user);
  return { conversationId, tenantId, steps };
}
