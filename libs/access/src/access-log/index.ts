export * from './content-accessed';
export * from './access-log-writer';
