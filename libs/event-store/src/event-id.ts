import { randomUUID } from 'node:crypto';

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Event ids made
 * this way arrive in roughly increasing order, so the unique index on event_id grows at its
 * right edge instead of taking random page writes on every append.
 * The random bits come from randomUUID (version 4), which draws from a buffered pool:
 * randomBytes asks the system on every call, and cost 6 µs an id here against 0.5.
 */
export function newEventId(now = Date.now()): string {
  const v4 = randomUUID();
  const t = now.toString(16).padStart(12, '0');
  // v4: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx; keep its variant and random bits
  return `${t.slice(0, 8)}-${t.slice(8)}-7${v4.slice(15)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in its hyphenated form, any version, either case. */
export const isUuid = (value: string): boolean => UUID.test(value);

/** RFC 9562: versions 1-8 with the RFC variant, or the Nil and Max UUIDs (sections 5.9, 5.10). */
const RFC_9562 = new RegExp(
  '^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' +
    '|0{8}-0{4}-0{4}-0{4}-0{12}' +
    '|f{8}-f{4}-f{4}-f{4}-f{12})$',
  'i',
);

/**
 * A UUID a caller gives (API, CLI), in lower case, the only form stored and answered (RFC 9562
 * reads either case, writes lower case); null for anything else. Only the hyphenated form, as
 * sent: surrounding space, braces, `urn:uuid:` or missing hyphens are refused, not repaired,
 * since PostgreSQL's uuid type accepts those too and each accepted spelling is one more way to
 * name the same conversation twice.
 */
export function parseUuid(value: unknown): string | null {
  return typeof value === 'string' && RFC_9562.test(value) ? value.toLowerCase() : null;
}
