// The pure conversation domain (`@app/conversation`): no framework, no I/O, no clock.
export * from './vocabulary';
export * from './reason-codes';
export * from './guard-codes';
export * from './guard-rules';
export * from './events';
export * from './event-fields';
export * from './commands';
export * from './errors';
export * from './policy';
export * from './policy-upcast';
export * from './separation-of-duties';
export * from './state';
export { evolve, foldEvents, foldEventsInPlace } from './evolve';
export * from './snapshot';
export * from './stream-id';
export { decide } from './decide';
export { evaluateEndGuards, toEndCommandData } from './guards';
export {
  lineagePath,
  isOnLineage,
  endOfLineage,
  redirectionCountOnLineage,
  hasEndRequestOnLineage,
  hasHeededWarningOnLineage,
  leafMessageIds,
} from './lineage';
export * from './message-views';
export * from './thread-status';
