export * from './errors.js';
export * from './block.js';
export * from './chain-source.js';
export * from './json-rpc.js';
export * from './bitcoind-rpc.js';
export * from './notifier.js';
export * from './options.js';
export * from './memory-chain.js';
