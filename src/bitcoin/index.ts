export * from './errors.js';
export * from './script.js';
export * from './bolt3-scripts.js';
export * from './taproot.js';
export * from './signature.js';
export * from './keys.js';
export * from './weight.js';
export * from './bip69.js';
