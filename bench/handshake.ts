/**
 * Benchmark 1: full BOLT 8 handshakes per second, both sides in one process, against the raw cost of
 * the EC operations a handshake cannot avoid (2 keygen + 6 ECDH) through the same backend.
 */
import { randomBytes } from 'node:crypto';
import { secp } from '../src/crypto/secp256k1.js';
import { NoiseHandshake, type StaticKey } from '../src/transport/noise.js';
import { compare, type Comparison, type RunOptions } from './harness.js';

function randomKey(): StaticKey {
  for (;;) {
    const privateKey = randomBytes(32);
    if (secp.isPrivateKey(privateKey)) return { privateKey, publicKey: secp.publicKey(privateKey) };
  }
}

/** One full handshake: initiator and responder with fresh ephemeral keys, every act through both. */
function fullHandshake(initiatorKey: StaticKey, responderKey: StaticKey): NoiseHandshake[] {
  const i = NoiseHandshake.initiator(initiatorKey, responderKey.publicKey);
  const r = NoiseHandshake.responder(responderKey);
  r.readActOne(i.actOne());
  i.readActTwo(r.actTwo());
  r.readActThree(i.actThree());
  return [i, r];
}

export interface HandshakeResult {
  comparison: Comparison;
  /** Microseconds per full handshake and per bound (2 keygen + 6 ECDH), from the medians. */
  handshakeUs: number;
  boundUs: number;
}

export async function benchHandshake(opts: RunOptions): Promise<HandshakeResult> {
  const ik = randomKey();
  const rk = randomKey();

  // Correctness before timing: both sides agree on keys and identities.
  const [i, r] = fullHandshake(ik, rk);
  if (!i!.result.sk.equals(r!.result.rk) || !i!.result.rk.equals(r!.result.sk) || !r!.result.remoteStatic.equals(ik.publicKey)) {
    throw new Error('bench: handshake sides disagree');
  }

  // A pool of keys so the reference does not multiply the same point by the same scalar every time.
  const pool = Array.from({ length: 64 }, randomKey);
  let k = 0;
  let sink = 0;

  const candidate = {
    name: 'full handshake (initiator + responder)',
    run(n: number) {
      for (let j = 0; j < n; j++) fullHandshake(ik, rk);
    },
  };
  const reference = {
    name: 'EC bound: 2 publicKey + 6 ecdh',
    run(n: number) {
      for (let j = 0; j < n; j++) {
        const a = pool[k & 63]!;
        const b = pool[(k + 1) & 63]!;
        const c = pool[(k + 2) & 63]!;
        k += 3;
        // Two ephemeral keygens …
        sink ^= secp.publicKey(a.privateKey)[1]!;
        sink ^= secp.publicKey(b.privateKey)[1]!;
        // … and the six ECDHs (es and ee by both sides, se by both sides).
        sink ^= secp.ecdh(a.privateKey, c.publicKey)[0]!;
        sink ^= secp.ecdh(c.privateKey, a.publicKey)[0]!;
        sink ^= secp.ecdh(a.privateKey, b.publicKey)[0]!;
        sink ^= secp.ecdh(b.privateKey, a.publicKey)[0]!;
        sink ^= secp.ecdh(c.privateKey, b.publicKey)[0]!;
        sink ^= secp.ecdh(b.privateKey, c.publicKey)[0]!;
      }
    },
  };
  const comparison = await compare(candidate, reference, opts);
  if (sink === -1) console.error(sink); // keep `sink` observable
  return {
    comparison,
    handshakeUs: 1e6 / comparison.candidate.median,
    boundUs: 1e6 / comparison.reference.median,
  };
}
