import { type Initiator, isOneOf } from './vocabulary';

export interface ReasonCodeRule {
  readonly meaning: string;
  /** Initiators allowed to end with this code (DOMAIN.md, policy version 1). */
  readonly allowedInitiators: readonly Initiator[];
  readonly explanationRequired: boolean;
  /** Usable as a redirection harmCategory or a warning reasonCode. */
  readonly harmCategory: boolean;
}

const harm = (meaning: string): ReasonCodeRule => ({
  meaning,
  allowedInitiators: ['model', 'operator'],
  explanationRequired: false,
  harmCategory: true,
});

export const REASON_CODES = {
  CHILD_SEXUAL_EXPLOITATION: harm('sexual content involving minors'),
  MASS_HARM_UPLIFT: harm('information enabling large-scale violence, terror, CBRN harm'),
  VIOLENT_EXTREMISM: harm('promotion or planning of violent extremism'),
  ABUSE_OF_ASSISTANT: harm('persistent abuse directed at the assistant'),
  HATE_OR_HARASSMENT_GENERATION: harm('persistent demands for hateful or harassing content'),
  SERIOUS_CRIME_FACILITATION: harm('persistent demands for help with serious crime'),
  USER_REQUESTED: {
    meaning: 'the user explicitly asked to end the chat',
    allowedInitiators: ['model'],
    explanationRequired: false,
    harmCategory: false,
  },
  OPERATOR_ACTION: {
    meaning: 'staff ended it under policy',
    allowedInitiators: ['operator'],
    explanationRequired: true,
    harmCategory: false,
  },
  OTHER_POLICY: {
    meaning: 'anything else; explanation required',
    allowedInitiators: ['operator'],
    explanationRequired: true,
    harmCategory: false,
  },
} as const satisfies Record<string, ReasonCodeRule>;

export type ReasonCode = keyof typeof REASON_CODES;
export const REASON_CODE_LIST = Object.keys(REASON_CODES) as ReasonCode[];

export const HARM_CATEGORIES = [
  'CHILD_SEXUAL_EXPLOITATION',
  'MASS_HARM_UPLIFT',
  'VIOLENT_EXTREMISM',
  'ABUSE_OF_ASSISTANT',
  'HATE_OR_HARASSMENT_GENERATION',
  'SERIOUS_CRIME_FACILITATION',
] as const satisfies readonly ReasonCode[];
export type HarmCategory = (typeof HARM_CATEGORIES)[number];

export const isReasonCode = (value: unknown): value is ReasonCode => isOneOf(REASON_CODE_LIST, value);

export const isReasonAllowedFor = (initiator: Initiator, code: string): boolean =>
  isReasonCode(code) && (REASON_CODES[code].allowedInitiators as readonly Initiator[]).includes(initiator);

export const isExplanationRequired = (code: string): boolean =>
  isReasonCode(code) && REASON_CODES[code].explanationRequired;

/** Blank (missing, empty or whitespace only) explanations do not count. */
export const hasText = (value: string | undefined): value is string =>
  typeof value === 'string' && value.trim().length > 0;
