/**
 * The keys of one channel, all derived from the node seed through the key chain (LND's families, index =
 * the channel's key index): funding key, the four basepoints and the per-commitment seed.
 */
import { KeyFamily, type KeyChain } from '../crypto/keychain.js';
import { sha256 } from '../crypto/hash.js';
import { derivePrivkey, deriveRevocationPrivkey, perCommitmentPoint } from '../bitcoin/keys.js';
import { perCommitmentSecret, type ChannelBasepoints } from './keys.js';

export class ChannelKeys {
  readonly fundingPrivkey: Buffer;
  readonly fundingPubkey: Buffer;
  readonly revocationBaseSecret: Buffer;
  readonly paymentBaseSecret: Buffer;
  readonly delayedBaseSecret: Buffer;
  readonly htlcBaseSecret: Buffer;
  readonly basepoints: ChannelBasepoints;
  readonly #seed: Buffer;

  constructor(keychain: KeyChain, readonly index: number) {
    const funding = keychain.derive(KeyFamily.MULTI_SIG, index);
    const revocation = keychain.derive(KeyFamily.REVOCATION_BASE, index);
    const payment = keychain.derive(KeyFamily.PAYMENT_BASE, index);
    const delayed = keychain.derive(KeyFamily.DELAY_BASE, index);
    const htlc = keychain.derive(KeyFamily.HTLC_BASE, index);
    this.fundingPrivkey = funding.privateKey;
    this.fundingPubkey = funding.publicKey;
    this.revocationBaseSecret = revocation.privateKey;
    this.paymentBaseSecret = payment.privateKey;
    this.delayedBaseSecret = delayed.privateKey;
    this.htlcBaseSecret = htlc.privateKey;
    this.basepoints = {
      revocationBasepoint: revocation.publicKey,
      paymentBasepoint: payment.publicKey,
      delayedPaymentBasepoint: delayed.publicKey,
      htlcBasepoint: htlc.publicKey,
    };
    // The shachain seed is a hash of a private key of its own family, never a key used on chain.
    this.#seed = sha256(Buffer.from('anode per-commitment seed'), keychain.derive(KeyFamily.REVOCATION_ROOT, index).privateKey);
  }

  /** Our per-commitment secret of commitment number `n`. */
  secret(n: bigint): Buffer {
    return perCommitmentSecret(this.#seed, n);
  }

  /** Our per-commitment point of commitment `n` (the last few are cached: each round asks for them several times). */
  point(n: bigint): Buffer {
    const hit = this.#points.get(n);
    if (hit) return hit;
    const p = perCommitmentPoint(this.secret(n));
    this.#points.set(n, p);
    if (this.#points.size > 8) this.#points.delete(this.#points.keys().next().value!);
    return p;
  }

  readonly #points = new Map<bigint, Buffer>();

  /** Our HTLC private key on a commitment with per-commitment point `point` (either side's). */
  htlcPrivkey(point: Uint8Array): Buffer {
    return derivePrivkey(this.htlcBaseSecret, point);
  }

  delayedPrivkey(point: Uint8Array): Buffer {
    return derivePrivkey(this.delayedBaseSecret, point);
  }

  /** The revocation private key of THEIR commitment whose per-commitment secret they revealed. */
  revocationPrivkey(theirSecret: Uint8Array): Buffer {
    return deriveRevocationPrivkey(this.revocationBaseSecret, theirSecret);
  }
}
