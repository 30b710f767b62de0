import type { DomainEventType, EventFieldName } from '@app/conversation';

/** Every field of every event type that SQL built here reads: the domain must write them all. */
const fieldsRead = new Map<DomainEventType, Set<string>>();

/**
 * SQL over the `data` column of one event type's rows, the field names checked against the
 * event definitions (events.ts): renaming a field fails the build rather than reading NULLs.
 * Build statements once, at module load, so that `fieldsReadInSql` knows every field.
 */
export function eventData<T extends DomainEventType>(type: T, column = 'data') {
  const read = (field: string): string => {
    const fields = fieldsRead.get(type) ?? new Set<string>();
    fieldsRead.set(type, fields.add(field));
    return field;
  };
  return {
    /** The field as text: `data->>'field'`. */
    text: (field: EventFieldName<T>): string => `${column}->>'${read(field)}'`,
    /** The field as jsonb: `data->'field'`. */
    json: (field: EventFieldName<T>): string => `${column}->'${read(field)}'`,
  };
}

/** SQL: the row `type` column (qualified by `row`) is one of these event types. */
export function typeIs(types: readonly DomainEventType[], row?: string): string {
  for (const type of types) if (!/^[A-Za-z]+$/.test(type)) throw new Error(`not an event type: ${type}`);
  const column = `${row ? `${row}.` : ''}type`;
  // `=` for one type, as the partial indexes on es_events say it.
  return types.length === 1 ? `${column} = '${types[0]}'` : `${column} IN (${types.map((t) => `'${t}'`).join(', ')})`;
}

/** The event fields SQL of this repository reads, by event type (for the test that they exist). */
export function fieldsReadInSql(): ReadonlyMap<DomainEventType, ReadonlySet<string>> {
  return fieldsRead;
}
