export * from './justice.js';
export * from './lookout.js';
