export * from './test-database';
export * from './specification';
export * from './test-data-source';
export * from './fixture-commands';
export * from './scratch-cluster';
export * from './scratch-replica';
export * from './read-models';
export * from './content-keys';
