export * from './test-database';
export * from './specification';
export * from './fixture-commands';
