export * from './content-envelope';
export * from './content-cipher';
export * from './content-keys';
export * from './master-key';
export * from './sealed-fields';
export * from './sealing';
export * from './erasure';
export * from './subjects';
