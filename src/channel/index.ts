export * from './errors.js';
export * from './keys.js';
export * from './shachain.js';
export * from './commitment.js';
