import { createHmac } from 'node:crypto';
import { createBase58check } from '@scure/base';
import { ripemd160, sha256 } from './hash.js';
import { secp } from './secp256k1.js';

/**
 * BIP32 hierarchical deterministic keys over the node's secp256k1 backend (the native addon when it
 * loads): what the keychain and the wallet need — master from seed, private child derivation (hardened
 * and normal), paths, the fingerprint and the extended public key (xpub/tpub). Kept here rather than in
 * the `bip32` package so that a start loads neither it (nor valibot) nor tiny-secp256k1's WebAssembly
 * (RSS at rest, docs/performance.md). Same keys as `bip32` (test/crypto/bip32.test.ts).
 */
export interface Bip32Versions {
  /** Version bytes of an extended public key (0x0488b21e xpub, 0x043587cf tpub). */
  public: number;
  private: number;
}

export const BIP32_MAINNET: Bip32Versions = { public: 0x0488b21e, private: 0x0488ade4 };

const HARDENED = 0x80000000;
const base58check = createBase58check(sha256);

export class Bip32Node {
  readonly #private: Buffer | undefined;
  #public: Buffer | undefined;

  private constructor(
    privateKey: Buffer | undefined,
    publicKey: Buffer | undefined,
    readonly chainCode: Buffer,
    readonly depth: number,
    readonly index: number,
    readonly parentFingerprint: number,
    readonly versions: Bip32Versions,
  ) {
    this.#private = privateKey;
    this.#public = publicKey;
  }

  /** The master node of a 16- to 64-byte seed (HMAC-SHA512 keyed "Bitcoin seed"); `network.bip32` sets the extended keys' version bytes, as in the `bip32` package. */
  static fromSeed(seed: Uint8Array, network?: { bip32: Bip32Versions }): Bip32Node {
    const versions = network?.bip32 ?? BIP32_MAINNET;
    if (seed.length < 16 || seed.length > 64) throw new TypeError('bip32: seed must be 16 to 64 bytes');
    const i = createHmac('sha512', 'Bitcoin seed').update(seed).digest();
    const key = i.subarray(0, 32);
    if (!secp.isPrivateKey(key)) throw new TypeError('bip32: the seed gives an invalid master key');
    return new Bip32Node(Buffer.from(key), undefined, Buffer.from(i.subarray(32)), 0, 0, 0, versions);
  }

  get privateKey(): Buffer | undefined {
    return this.#private;
  }

  get publicKey(): Buffer {
    this.#public ??= secp.publicKey(this.#private!);
    return this.#public;
  }

  get identifier(): Buffer {
    return ripemd160(sha256(this.publicKey));
  }

  get fingerprint(): Buffer {
    return this.identifier.subarray(0, 4);
  }

  /** The child at `index` (≥ 2^31: hardened); an index whose key is invalid gives the next one, as BIP32 says. */
  derive(index: number): Bip32Node {
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new TypeError(`bip32: index ${index} out of range`);
    const data = Buffer.allocUnsafe(37);
    if (index >= HARDENED) {
      if (!this.#private) throw new TypeError('bip32: a hardened child needs the private key');
      data[0] = 0;
      this.#private.copy(data, 1);
    } else {
      this.publicKey.copy(data, 0);
    }
    data.writeUInt32BE(index, 33);
    const i = createHmac('sha512', this.chainCode).update(data).digest();
    const il = i.subarray(0, 32);
    const chainCode = Buffer.from(i.subarray(32));
    if (!secp.isPrivateKey(il)) return this.derive(index + 1);
    const parent = this.fingerprint.readUInt32BE(0);
    if (this.#private) {
      let key: Buffer;
      try {
        key = secp.privateAdd(this.#private, il);
      } catch {
        return this.derive(index + 1); // parse256(IL) + k is zero
      }
      return new Bip32Node(key, undefined, chainCode, this.depth + 1, index, parent, this.versions);
    }
    let point: Buffer;
    try {
      point = secp.pointAdd(this.publicKey, secp.publicKey(il));
    } catch {
      return this.derive(index + 1); // the point at infinity
    }
    return new Bip32Node(undefined, point, chainCode, this.depth + 1, index, parent, this.versions);
  }

  /** `m/84'/0'/0'/0` (or `84h`), from the master; `m` alone is this node. */
  derivePath(path: string): Bip32Node {
    const parts = path.split('/');
    if (parts[0] !== 'm' || (this.depth !== 0 && parts.length > 1)) throw new TypeError(`bip32: path ${path} must start at the master (m/…)`);
    let node: Bip32Node = this;
    for (const p of parts.slice(1)) {
      const m = /^(\d+)(['h]?)$/.exec(p);
      if (!m || Number(m[1]) >= HARDENED) throw new TypeError(`bip32: bad path element ${p} in ${path}`);
      node = node.derive(Number(m[1]) + (m[2] ? HARDENED : 0));
    }
    return node;
  }

  /** This node without its private key. */
  neutered(): Bip32Node {
    return new Bip32Node(undefined, this.publicKey, this.chainCode, this.depth, this.index, this.parentFingerprint, this.versions);
  }

  /** The extended key, Base58Check (xprv/xpub, or tprv/tpub with the test versions). */
  toBase58(): string {
    const out = Buffer.allocUnsafe(78);
    out.writeUInt32BE(this.#private ? this.versions.private : this.versions.public, 0);
    out[4] = this.depth;
    out.writeUInt32BE(this.parentFingerprint, 5);
    out.writeUInt32BE(this.index, 9);
    this.chainCode.copy(out, 13);
    if (this.#private) {
      out[45] = 0;
      this.#private.copy(out, 46);
    } else {
      this.publicKey.copy(out, 45);
    }
    return base58check.encode(out);
  }
}
