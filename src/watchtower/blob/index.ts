export * from './errors.js';
export * from './type.js';
export * from './derivation.js';
export * from './justice-kit.js';
export * from './blob.js';
