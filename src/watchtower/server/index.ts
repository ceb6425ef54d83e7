export * from './address.js';
export * from './rules.js';
export * from './tower-store.js';
export * from './server.js';
