// The application layer (`@app/application`): how a conversation command is carried out, the
// same for the API, the CLI's seed, the bench and the test drivers. No framework, no apps/*.
export * from './command-context';
export * from './actor';
export * from './envelope';
export * from './errors';
export * from './stream-limits';
export * from './keyed-queue';
export * from './state-cache';
export * from './recorded';
export * from './retry';
export * from './conversation-states';
export * from './handle-conversation-command';
export * from './command-deps';
export * from './seed/conversation-plan';
export * from './seed/seed-conversations';
