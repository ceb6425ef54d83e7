/** Deterministic channel key sets for transaction tests: every secret is SHA-256 of `<tag>/<name>`. */
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import type { ChannelBasepoints } from '../../src/channel/keys.js';

export interface KeySet {
  funding: Buffer;
  revocation: Buffer;
  payment: Buffer;
  delayed: Buffer;
  htlc: Buffer;
  /** Per-commitment seed. */
  seed: Buffer;
  basepoints: ChannelBasepoints;
}

export function keySet(tag: string): KeySet {
  const k = (n: string): Buffer => sha256(Buffer.from(`${tag}/${n}`));
  const s = { funding: k('funding'), revocation: k('revocation'), payment: k('payment'), delayed: k('delayed'), htlc: k('htlc'), seed: k('seed') };
  const pub = (priv: Uint8Array): Buffer => secp.publicKey(priv);
  return {
    ...s,
    basepoints: { revocationBasepoint: pub(s.revocation), paymentBasepoint: pub(s.payment), delayedPaymentBasepoint: pub(s.delayed), htlcBasepoint: pub(s.htlc) },
  };
}
