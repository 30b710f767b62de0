export * from './config/config';
export * from './database/data-source-options';
export * from './database/embedded-postgres';
export * from './database/resolve-database';
export * from './config/limits';
