export * from './errors.js';
export * from './codec.js';
export * from './features.js';
export * from './codes.js';
export * from './messages.js';
