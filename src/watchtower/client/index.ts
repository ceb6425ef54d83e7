/**
 * The watchtower client. The daemon creates one with {@link createWatchtowerClient} when
 * `--wtclient.active` is set, hands it to the RPC shells as their `WtClientCore`, calls `start()`, feeds it
 * `backupState` after every revoke_and_ack, `markChannelClosed` and `blockConnected`, and `stop()`s it
 * before closing the database.
 */
import type { Logger } from 'pino';
import type { WtClientRepository } from '../../store/wtclient.js';
import { WatchtowerClient, type SessionKeySource, type WatchtowerClientOptions } from './client.js';
import type { WtClientConfig } from './options.js';

export * from './address.js';
export * from './api.js';
export * from './backoff.js';
export * from './breach.js';
export * from './client.js';
export * from './options.js';

export interface CreateWatchtowerClientOptions extends Partial<WtClientConfig> {
  store: WtClientRepository;
  /** The node's KeyChain (session keys: family 8). */
  keychain: SessionKeySource;
  /** Genesis hash, internal byte order (e.g. CHAIN_HASHES[network]). */
  chainHash: Buffer;
  log: Logger;
  /** Tests: retry delays, deadlines, clock, randomness, client types. */
  tuning?: Pick<WatchtowerClientOptions, 'backoff' | 'timeoutMs' | 'batchSize' | 'now' | 'random' | 'commitmentTypes'>;
}

export function createWatchtowerClient(opts: CreateWatchtowerClientOptions): WatchtowerClient {
  return new WatchtowerClient({
    store: opts.store,
    keychain: opts.keychain,
    chainHash: opts.chainHash,
    log: opts.log,
    sweepFeeRateSatPerVbyte: opts.sweepFeeRateSatPerVbyte,
    maxUpdates: opts.maxUpdates,
    sessionCloseRange: opts.sessionCloseRange,
    ...opts.tuning,
  });
}
