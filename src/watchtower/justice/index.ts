export * from './errors.js';
export * from './scripts.js';
export * from './signature.js';
export * from './weight.js';
export * from './amounts.js';
export * from './justice-tx.js';
