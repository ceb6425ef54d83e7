import { ChannelError } from '../../channel/errors.js';
import { WalletError } from '../../wallet/keys.js';

/**
 * The one set of user-facing failure kinds (as ldk-node's one error enum). Core operations throw
 * {@link CoreError}s; each shell maps a kind to its own code in one table (`rpc/cln/errors.ts`,
 * `rpc/lnd/errors.ts`) and passes the message on as written here.
 */
export type CoreErrorKind =
  /** A request that cannot be carried out as given (a bad amount, address or parameter). */
  | 'INVALID'
  /** A host for `connect` that is not valid or does not resolve. */
  | 'BAD_HOST'
  /** The peer named is not in the peer table. */
  | 'UNKNOWN_PEER'
  | 'NOT_CONNECTED'
  /** `disconnect` without force while a channel still needs the peer. */
  | 'CHANNEL_BLOCKS'
  | 'NO_ADDRESS'
  | 'ALL_FAILED'
  | 'DISCONNECTED_DURING'
  | 'PING_PENDING'
  | 'PING_FAILED'
  | 'SHUTTING_DOWN'
  /** A subsystem (tower, watchtower client, wallet, channels) that is not running. */
  | 'NOT_ACTIVE'
  /** Opening a channel to a peer that is not connected (any more). */
  | 'FUNDING_UNKNOWN_PEER'
  /** A channel larger than the node accepts. */
  | 'FUNDING_MAX_EXCEEDED'
  /** The wallet's coins do not cover what was asked. */
  | 'CANNOT_AFFORD'
  /** An output below its dust threshold. */
  | 'OUTPUT_IS_DUST'
  /** Any other refusal or failure of the operation. */
  | 'FAILED';

/** A refusal or failure of a core operation; each shell maps the kind to its own error code. */
export class CoreError extends Error {
  override name = 'CoreError';
  constructor(
    readonly kind: CoreErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const WALLET_KINDS: Partial<Record<WalletError['code'], CoreErrorKind>> = {
  INVALID: 'INVALID',
  UNKNOWN_UTXO: 'INVALID',
  BAD_ADDRESS: 'INVALID',
  DUST: 'OUTPUT_IS_DUST',
  CANNOT_AFFORD: 'CANNOT_AFFORD',
};

const CHANNEL_KINDS: Partial<Record<ChannelError['code'], CoreErrorKind>> = {
  UNKNOWN_PEER: 'FUNDING_UNKNOWN_PEER',
  CANNOT_AFFORD: 'CANNOT_AFFORD',
};

/**
 * A wallet or channel failure as the user sees it, by its code (never by its text); anything else is
 * returned unchanged (an unexpected failure, which the shells report as internal).
 */
export function toCoreError(err: unknown): unknown {
  if (err instanceof WalletError) {
    // lightningd's text for an address it cannot parse, whatever the parser said.
    const message = err.code === 'BAD_ADDRESS' ? 'Could not parse destination address, destination should be a valid address' : err.message;
    return new CoreError(WALLET_KINDS[err.code] ?? 'FAILED', message);
  }
  if (err instanceof ChannelError) return new CoreError(CHANNEL_KINDS[err.code] ?? 'FAILED', err.message);
  return err;
}

/** Runs a wallet or channel operation, its failures as {@link CoreError}s. */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toCoreError(err);
  }
}
