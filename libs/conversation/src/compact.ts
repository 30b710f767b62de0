/** Drops `undefined` fields (one level deep): events are JSON, optional fields are omitted. */
export const compact = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
