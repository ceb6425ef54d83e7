/**
 * BOLT 4 onions: building a 5-hop onion and peeling one layer, each next to the raw EC work it cannot
 * avoid, measured in the same run through the same backend (building: 5 ECDH + 4 public keys for the
 * blinded session keys + 1 for the first ephemeral key; peeling: 1 ECDH + 1 point multiplication for the
 * next ephemeral key). The ratio says what the symmetric crypto, hashing and copying add.
 */
import { randomBytes } from 'node:crypto';
import { secp } from '../src/crypto/secp256k1.js';
import { encodeHopPayload } from '../src/onion/payload.js';
import { createOnion, peelOnion } from '../src/onion/sphinx.js';
import { compare, fmt, fmtInt, fmtPct, table, type Comparison, type RunOptions } from './harness.js';

export interface OnionBenchResult {
  build: Comparison;
  peel: Comparison;
}

function privateKey(): Buffer {
  for (;;) {
    const k = randomBytes(32);
    if (secp.isPrivateKey(k)) return k;
  }
}

export async function benchOnion(opts: RunOptions): Promise<OnionBenchResult> {
  const keys = Array.from({ length: 5 }, privateKey);
  const hops = keys.map((k, i) => ({
    nodeId: secp.publicKey(k),
    payload: encodeHopPayload(
      i === 4
        ? { amtToForward: 100_000n, outgoingCltvValue: 800_040, paymentData: { paymentSecret: randomBytes(32), totalMsat: 100_000n } }
        : { amtToForward: 100_000n + BigInt(1000 * (4 - i)), outgoingCltvValue: 800_040 + 40 * (4 - i), shortChannelId: `800000x${i}x0` },
    ),
  }));
  const hash = randomBytes(32);
  const sessions = Array.from({ length: 64 }, privateKey);
  const onions = sessions.slice(0, 16).map((s) => createOnion({ sessionKey: s, hops, associatedData: hash }).packet);
  // Correctness before timing: the first hop reads its layer.
  if (peelOnion(onions[0]!, keys[0]!, hash).kind !== 'forward') throw new Error('bench: onion does not peel');

  const pool = Array.from({ length: 64 }, privateKey);
  const pubs = pool.map((k) => secp.publicKey(k));
  let k = 0;
  let sink = 0;

  const build = await compare(
    {
      name: 'createOnion, 5 hops',
      run(n) {
        for (let j = 0; j < n; j++) sink ^= createOnion({ sessionKey: sessions[j & 63]!, hops, associatedData: hash }).packet[40]!;
      },
    },
    {
      name: 'EC bound: 5 ecdh + 5 publicKey',
      run(n) {
        for (let j = 0; j < n; j++) {
          for (let h = 0; h < 5; h++, k++) {
            sink ^= secp.ecdh(pool[k & 63]!, pubs[(k + 1) & 63]!)[0]!;
            sink ^= secp.publicKey(pool[(k + 2) & 63]!)[1]!;
          }
        }
      },
    },
    opts,
  );
  const peel = await compare(
    {
      name: 'peelOnion, forwarding hop',
      run(n) {
        for (let j = 0; j < n; j++) sink ^= peelOnion(onions[j & 15]!, keys[0]!, hash).kind.length;
      },
    },
    {
      name: 'EC bound: 1 ecdh + 1 pointMultiply',
      run(n) {
        for (let j = 0; j < n; j++, k++) {
          sink ^= secp.ecdh(pool[k & 63]!, pubs[(k + 1) & 63]!)[0]!;
          sink ^= secp.pointMultiply(pubs[(k + 2) & 63]!, pool[(k + 3) & 63]!)[1]!;
        }
      },
    },
    opts,
  );
  if (sink === -1) console.error(sink); // keep `sink` observable
  return { build, peel };
}

export function printOnion(r: OnionBenchResult): string[] {
  const rows = [r.build, r.peel].map((c) => [
    c.candidate.name,
    fmtInt(c.candidate.median),
    fmtPct(c.candidate.iqrPct),
    c.reference.name,
    fmtInt(c.reference.median),
    fmt(c.ratio),
    fmtPct(c.ratioIqrPct),
  ]);
  return [
    '## Onions (BOLT 4): per second, next to the raw EC work each needs (same backend, same run)',
    '',
    table(['', 'per second', 'IQR', 'reference', 'per second', 'ratio', 'ratio IQR'], rows),
  ];
}
