import { Bip32Node as bip32, type Bip32Node as BIP32Interface } from './bip32.js';

/** BIP-43 purpose LND uses for its keychain. */
export const KEYCHAIN_PURPOSE = 1017;

/** LND's key families (keychain/derivation.go): the same numbers, so keys line up with LND's layout. */
export const KeyFamily = {
  MULTI_SIG: 0,
  REVOCATION_BASE: 1,
  HTLC_BASE: 2,
  PAYMENT_BASE: 3,
  DELAY_BASE: 4,
  REVOCATION_ROOT: 5,
  NODE_KEY: 6,
  BASE_ENCRYPTION: 7,
  TOWER_SESSION: 8,
  TOWER_ID: 9,
} as const;
export type KeyFamily = (typeof KeyFamily)[keyof typeof KeyFamily];

export interface KeyPair {
  privateKey: Buffer;
  publicKey: Buffer;
  /** The BIP32 path it came from, for logs and tests. */
  path: string;
}

/** SLIP-44 coin type as LND picks it: 0 on mainnet, 1 on every test network. */
export function coinTypeFor(network: string): number {
  return network === 'bitcoin' ? 0 : 1;
}

/**
 * Every key anode holds derives from the one seed: `m/1017'/coin'/family'/0/index`.
 * Account nodes (…/family'/0) are cached, so deriving an index costs one child derivation.
 */
export class KeyChain {
  readonly #master: BIP32Interface;
  readonly #coinType: number;
  readonly #branches = new Map<number, BIP32Interface>();

  constructor(seed: Uint8Array, network: string) {
    if (seed.length < 16 || seed.length > 64) throw new Error('keychain: seed must be 16 to 64 bytes');
    this.#master = bip32.fromSeed(Buffer.from(seed));
    this.#coinType = coinTypeFor(network);
  }

  derive(family: number, index: number): KeyPair {
    if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) {
      throw new Error(`keychain: index ${index} out of range`);
    }
    let branch = this.#branches.get(family);
    if (!branch) {
      branch = this.#master.derivePath(`m/${KEYCHAIN_PURPOSE}'/${this.#coinType}'/${family}'/0`);
      this.#branches.set(family, branch);
    }
    const child = branch.derive(index);
    if (!child.privateKey) throw new Error('keychain: derived key has no private key');
    return {
      privateKey: Buffer.from(child.privateKey),
      publicKey: Buffer.from(child.publicKey),
      path: `m/${KEYCHAIN_PURPOSE}'/${this.#coinType}'/${family}'/0/${index}`,
    };
  }

  /** The node's identity key (family 6, index 0). */
  nodeKey(): KeyPair {
    return this.derive(KeyFamily.NODE_KEY, 0);
  }

  /** The watchtower's identity key (family 9, index 0), distinct from the node key. */
  towerKey(): KeyPair {
    return this.derive(KeyFamily.TOWER_ID, 0);
  }
}
