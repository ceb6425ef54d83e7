export * from './justice.js';
export * from './lookout.js';
export * from './store.js';
