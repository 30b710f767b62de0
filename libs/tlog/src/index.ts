export * from './merkle';
export * from './merkle-verify';
export * from './frontier';
export * from './memory-source';
export * from './errors';
export * from './keys';
export * from './note';
export * from './checkpoint';
export { decodeBase64Strict } from './base64';
