export * from './config/config';
export * from './database/data-source-options';
export * from './database/database-privileges';
export * from './database/embedded-postgres';
export * from './database/reconcile-privileges';
export * from './database/resolve-database';
export * from './database/runtime-connection';
export * from './config/limits';
