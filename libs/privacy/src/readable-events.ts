import type { KeyLookup } from './content-keys';
import { hasSealedFields, kidsOf, openData, type SealableEvent } from './sealing';

/** The keys a reader needs: many at once (one query for those not cached). */
export interface KeyReader {
  lookupMany(kids: Iterable<string>): Promise<Map<string, KeyLookup | null>>;
}

/**
 * An event as every read answers it: `data` readable (sealed fields opened; a field whose key is
 * destroyed reads null), `contentErased: true` when some sealed field's key is gone,
 * `contentUnreadable: true` when some sealed field did not open (tampered: never shown as erased),
 * and `storedData` when the stored form differs from `data`: the data exactly as stored and
 * hashed (chain checks hash `storedData ?? data`).
 */
export type ReadableEvent<E extends SealableEvent> = E & {
  contentErased?: true;
  contentUnreadable?: true;
  storedData?: Record<string, unknown>;
};

export interface ReadOptions {
  /** Told of every field that did not open (tampering is reported, never shown as erasure). */
  warn?(message: string): void;
}

/** Opens a batch of stored events (one key lookup for the batch). Events without envelopes come back as they are. */
export async function readableEvents<E extends SealableEvent>(
  keys: KeyReader,
  events: readonly E[],
  options: ReadOptions = {},
): Promise<ReadableEvent<E>[]> {
  const kids = new Set<string>();
  for (const e of events) if (hasSealedFields(e.type)) for (const kid of kidsOf(e)) kids.add(kid);
  if (kids.size === 0) return events as ReadableEvent<E>[];
  const found = await keys.lookupMany(kids);
  return events.map((e) => {
    if (!hasSealedFields(e.type)) return e;
    const opened = openData(e, found);
    if (opened.data === e.data) return e;
    if (opened.unreadableFields.length > 0) {
      options.warn?.(
        `the ${opened.unreadableFields.join(', ')} of event ${e.eventId} (${e.type}) does not decrypt under its key: ` +
          'tampered, moved or the wrong key; answered as null with contentUnreadable',
      );
    }
    return {
      ...e,
      data: opened.data,
      ...(opened.contentErased && { contentErased: true as const }),
      ...(opened.unreadableFields.length > 0 && { contentUnreadable: true as const }),
      storedData: e.data,
    };
  });
}

/** One event (a batch of one). */
export async function readableEvent<E extends SealableEvent>(
  keys: KeyReader,
  event: E,
  options?: ReadOptions,
): Promise<ReadableEvent<E>> {
  const [opened] = await readableEvents(keys, [event], options);
  return opened!;
}
