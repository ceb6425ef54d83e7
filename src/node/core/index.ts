/**
 * The node core: the one set of domain functions every API shell calls (CLN JSON-RPC, LND gRPC/REST,
 * and anode-cli through JSON-RPC), so the shells only translate protocols and never disagree.
 */
export * from './address.js';
export * from './api.js';
export * from './chain.js';
export * from './errors.js';
export * from './info.js';
export * from './peers.js';
export * from './settings.js';
export * from './fees.js';
export * from './channels.js';
export * from './state.js';
export * from './wallet.js';
export * from './invoices.js';
export * from './payments.js';
export * from './forwards.js';
export * from './policy.js';
export * from './graph.js';
export * from './blinded.js';
