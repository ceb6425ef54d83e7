export * from './errors.js';
export * from './weight.js';
export * from './amounts.js';
export * from './justice-tx.js';
