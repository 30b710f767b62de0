// API keys (`@app/access`): the api_keys entity, creating, revoking, listing and hashing keys,
// and their ApiKeyCreated/ApiKeyRevoked events. Shared by the API (lookups, the revocation
// listener) and the CLI (keys:*); guards and decorators stay in apps/api.
export * from './api-key.entity';
export * from './api-key-events';
export * from './api-keys';
// Who read what: access entries (ContentAccessed events in access streams) and their writer.
export * from './access-log';
