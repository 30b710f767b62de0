export * from './test-database';
export * from './specification';
