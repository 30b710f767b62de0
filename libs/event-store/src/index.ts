export * from './types';
export * from './errors';
export * from './position';
export * from './hash-chain';
export * from './event-store';
export type { GroupCommitOptions } from './append-batcher';
export * from './event-row';
export * from './event-id';
export * from './append-in-transaction';
