import { ContentUnreadable, type DataKey, openText, sealText } from './content-cipher';
import { isEnvelope } from './content-envelope';
import type { KeyLookup } from './content-keys';
import { sealedFieldsOf } from './sealed-fields';

/** An event as sealing and opening see it. */
export interface SealableEvent {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
}

/** Whether an event type has fields that are sealed when present. */
export const hasSealedFields = (type: string): boolean => sealedFieldsOf(type).length > 0;

/** Whether this event, as about to be written, carries text to seal. */
export const needsSealing = (e: SealableEvent): boolean =>
  sealedFieldsOf(e.type).some((f) => typeof e.data[f] === 'string');

/** The event's data with every sealed field present as a string replaced by its envelope. */
export function sealData(key: DataKey, e: SealableEvent): Record<string, unknown> {
  const fields = sealedFieldsOf(e.type).filter((f) => typeof e.data[f] === 'string');
  if (fields.length === 0) return e.data;
  const data = { ...e.data };
  for (const f of fields) data[f] = sealText(key, e.eventId, f, e.data[f] as string);
  return data;
}

/** The key ids an event's sealed fields name. */
export function kidsOf(e: SealableEvent): string[] {
  const kids: string[] = [];
  for (const f of sealedFieldsOf(e.type)) {
    const v = e.data[f];
    if (isEnvelope(v)) kids.push(v.kid);
  }
  return kids;
}

/** Stored text that was written before encryption: it cannot be erased by destroying a key. */
export const plaintextFieldsOf = (e: SealableEvent): string[] =>
  sealedFieldsOf(e.type).filter((f) => typeof e.data[f] === 'string');

/** An event's data as readers see it: sealed fields opened, or null where they cannot be. */
export interface OpenedData {
  data: Record<string, unknown>;
  /** Some sealed field's key was destroyed: those fields read null. */
  contentErased: boolean;
  /**
   * Some sealed field did not open under its key, or names a key that never existed (tampered,
   * moved, or the wrong key): those fields read null too, and this is never shown as erasure.
   */
  unreadableFields: string[];
}

/**
 * Opens an event's sealed fields with the keys looked up (`keys.lookupMany(kidsOf(e))`).
 * A destroyed key reads as erased (its row is kept for good, so an erased key is always known);
 * an envelope that does not open under a live key, or names no key at all, reads null and is
 * listed in `unreadableFields` (tampering is never shown as erasure).
 */
export function openData(e: SealableEvent, keys: ReadonlyMap<string, KeyLookup | null>): OpenedData {
  let data = e.data;
  let contentErased = false;
  const unreadableFields: string[] = [];
  for (const f of sealedFieldsOf(e.type)) {
    const v = e.data[f];
    if (!isEnvelope(v)) continue;
    if (data === e.data) data = { ...e.data };
    const found = keys.get(v.kid.toLowerCase());
    if (found?.state === 'destroyed') {
      data[f] = null;
      contentErased = true;
      continue;
    }
    try {
      if (!found) throw new ContentUnreadable(e.eventId, f, new Error(`no content key ${v.kid}`));
      data[f] = openText(found.key, e.eventId, f, v);
    } catch (err) {
      if (!(err instanceof ContentUnreadable)) throw err;
      data[f] = null;
      unreadableFields.push(f);
    }
  }
  return { data, contentErased, unreadableFields };
}
