// Retention (`@app/retention`): per-tenant settings (RetentionSet events and their rows) and the
// job that destroys the content keys of conversations past them (runs recorded as events).
// Shared by the CLI (retention:set, retention:list, retention:run) and the projector (the schedule).
export * from './retention-settings';
export * from './retention-run';
export * from './retention-scheduler';
