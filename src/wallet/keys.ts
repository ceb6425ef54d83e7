/**
 * The wallet's keys: BIP84 (P2WPKH) and BIP86 (P2TR key-path) accounts derived from the node seed.
 *
 *   p2wpkh  m/84'/coin'/0'/branch/index
 *   p2tr    m/86'/coin'/0'/branch/index
 *
 * `branch` 0 is the receive chain, 1 the change chain (BIP44); `coin` is 0 on mainnet and 1 on every test
 * network (SLIP-44, as the keychain). Any BIP84/BIP86 wallet restored from the same BIP32 master key sees
 * the same addresses. Addresses use the network's bech32 prefix (`bc`, `tb`, `bcrt`).
 */
import { Bip32Node as bip32, type Bip32Node as BIP32Interface } from '../crypto/bip32.js';
import { Address, OutScript, p2tr, p2wpkh, NETWORK, TEST_NETWORK } from '@scure/btc-signer';

export type BTC_NETWORK = typeof NETWORK;
import { coinTypeFor } from '../crypto/keychain.js';

export type KeyKind = 'p2wpkh' | 'p2tr';
export const RECEIVE = 0;
export const CHANGE = 1;
export type Branch = typeof RECEIVE | typeof CHANGE;

export interface KeyRef {
  kind: KeyKind;
  branch: Branch;
  index: number;
}

export interface WalletKey extends KeyRef {
  privateKey: Uint8Array;
  /** 33-byte compressed public key. */
  publicKey: Uint8Array;
  /** The output script this key is paid to (P2TR: BIP86 tweaked output key). */
  script: Uint8Array;
  address: string;
  path: string;
}

export class WalletError extends Error {
  override name = 'WalletError';
  constructor(
    readonly code: WalletErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type WalletErrorCode = 'INVALID' | 'BAD_ADDRESS' | 'DUST' | 'CANNOT_AFFORD' | 'NO_FEERATE' | 'BROADCAST' | 'UNKNOWN_UTXO' | 'NOT_STARTED';

/** @scure/btc-signer network parameters for a lightningd network name. */
export function btcNetwork(network: string): BTC_NETWORK {
  switch (network) {
    case 'bitcoin':
      return NETWORK;
    case 'testnet':
    case 'testnet4':
    case 'signet':
      return TEST_NETWORK;
    case 'regtest':
      return { ...TEST_NETWORK, bech32: 'bcrt' };
    default:
      throw new WalletError('INVALID', `wallet: unknown network ${network}`);
  }
}

const PURPOSE: Record<KeyKind, number> = { p2wpkh: 84, p2tr: 86 };

/** BIP32 serialisation on the test networks (tpub/tprv). */
const BIP32_TEST_VERSIONS = { messagePrefix: '\x18Bitcoin Signed Message:\n', bech32: 'tb', bip32: { public: 0x043587cf, private: 0x04358394 }, pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };

export class WalletKeys {
  readonly network: BTC_NETWORK;
  readonly #accounts = new Map<string, BIP32Interface>();
  readonly #coin: number;
  readonly #master: BIP32Interface;

  constructor(seed: Uint8Array, networkName: string) {
    if (seed.length < 16 || seed.length > 64) throw new WalletError('INVALID', 'wallet: seed must be 16 to 64 bytes');
    this.network = btcNetwork(networkName);
    this.#coin = coinTypeFor(networkName);
    // The network only sets how extended keys are written (xpub, or tpub on test networks), not the keys.
    this.#master = bip32.fromSeed(Buffer.from(seed), this.#coin === 0 ? undefined : BIP32_TEST_VERSIONS);
  }

  /** An account (m/purpose'/coin'/0'): its extended public key, its path, and the master key's fingerprint. */
  account(kind: KeyKind): { extendedPublicKey: string; path: string; masterFingerprint: Buffer } {
    const path = `m/${PURPOSE[kind]}'/${this.#coin}'/0'`;
    return { extendedPublicKey: this.#master.derivePath(path).neutered().toBase58(), path, masterFingerprint: Buffer.from(this.#master.fingerprint) };
  }

  derive(kind: KeyKind, branch: Branch, index: number): WalletKey {
    if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) throw new WalletError('INVALID', `wallet: key index ${index} out of range`);
    const id = `${kind}/${branch}`;
    let acct = this.#accounts.get(id);
    if (!acct) {
      acct = this.#master.derivePath(`m/${PURPOSE[kind]}'/${this.#coin}'/0'/${branch}`);
      this.#accounts.set(id, acct);
    }
    const child = acct.derive(index);
    if (!child.privateKey) throw new WalletError('INVALID', 'wallet: derived key has no private key');
    const publicKey = new Uint8Array(child.publicKey);
    const pay = kind === 'p2wpkh' ? p2wpkh(publicKey, this.network) : p2tr(publicKey.subarray(1), undefined, this.network);
    return {
      kind,
      branch,
      index,
      privateKey: new Uint8Array(child.privateKey),
      publicKey,
      script: pay.script,
      address: pay.address!,
      path: `m/${PURPOSE[kind]}'/${this.#coin}'/0'/${branch}/${index}`,
    };
  }
}

/** Output script of an address on `network`; throws WalletError BAD_ADDRESS for anything else. */
export function addressToScript(address: string, network: BTC_NETWORK): Uint8Array {
  if (typeof address !== 'string' || address.length === 0 || address.length > 100) throw new WalletError('BAD_ADDRESS', 'wallet: not an address');
  try {
    return OutScript.encode(Address(network).decode(address));
  } catch (e) {
    throw new WalletError('BAD_ADDRESS', `wallet: not an address on this network: ${(e as Error).message}`);
  }
}

/** The address of an output script, or undefined for scripts without one (bare multisig, OP_RETURN …). */
export function scriptToAddress(script: Uint8Array, network: BTC_NETWORK): string | undefined {
  try {
    return Address(network).encode(OutScript.decode(script));
  } catch {
    return undefined;
  }
}
