export * from './database/data-source-options';
export * from './database/embedded-postgres';
