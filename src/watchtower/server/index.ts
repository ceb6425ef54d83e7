export * from './address.js';
export * from './rules.js';
export * from './store.js';
export * from './server.js';
