import type { DomainEvent, DomainEventType } from './events';

// Code that reads stored events by name (SQL over `data`, above all) takes the names from here:
// a type or field renamed in events.ts then fails the build instead of reading NULLs.

/** The event of a type. */
export type EventOfType<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

/** A field name of an event type's data. */
export type EventFieldName<T extends DomainEventType> = Extract<keyof EventOfType<T>['data'], string>;

/** A field name of an event type's data, checked against its definition. */
export const fieldOf = <T extends DomainEventType, F extends EventFieldName<T>>(_type: T, field: F): F => field;
