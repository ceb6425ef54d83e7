export * from './keys.js';
export * from './coin-select.js';
export * from './feerate.js';
export * from './wallet.js';
export * from './amount.js';
export * from './transactions.js';
