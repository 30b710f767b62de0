// The audit queries (`@app/audit`): plain functions, hand-written SQL with bound parameters on a
// pg pool (the blocked-ends list: the query builder over its entity), keyset pagination, chain
// verification, compliance re-checks and the export.
export * from './queryable';
export * from './cursor';
export * from './tenant-scope';
export * from './ends.query';
export * from './blocked-ends.query';
export * from './end-stats.query';
export * from './review-stats.query';
export * from './sample.query';
export * from './compliance';
export * from './chain';
export * from './tenant-streams';
export * from './events-up-to';
export * from './export';
export * from './stored-policies';
export * from './end-filter-rules';
export * from './export-bundle';
export * from './bundle-tar';
export * from './access.query';
export * from './holds.query';
