/**
 * This build against another build of anode, in the same process and the same interleaved rounds, so a
 * before/after ratio survives a noisy machine: `node dist/bench/versus.js <other-root>` where
 * <other-root> holds another build's `dist/` (and a `node_modules` its imports resolve from), e.g.
 *
 *   git worktree add /tmp/anode-main main && (cd /tmp/anode-main && ln -s "$PWD/node_modules" . ; npm run build)
 *   node dist/bench/versus.js /tmp/anode-main
 *
 * Rows: full BOLT 8 handshakes (both sides, one process), TransportCipher in memory and NoiseSocket over
 * loopback TCP at 32 B and 65,535 B. Ratio = this build / the other.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { compare, fmt, fmtInt, fmtPct, table, type Comparison, type Op, type RunOptions } from './harness.js';
import { cipherOp, loopbackPair, socketOp } from './transport.js';
import * as thisSecp from '../src/crypto/secp256k1.js';
import * as thisNoise from '../src/transport/noise.js';
import * as thisConnection from '../src/transport/connection.js';

type Secp = typeof thisSecp;
type Noise = typeof thisNoise;
type Connection = typeof thisConnection;
interface Build {
  name: string;
  secp: Secp;
  noise: Noise;
  connection: Connection;
}

async function load(root: string): Promise<Build> {
  const at = (p: string): string => pathToFileURL(`${root}/dist/src/${p}`).href;
  return {
    name: root,
    secp: (await import(at('crypto/secp256k1.js'))) as Secp,
    noise: (await import(at('transport/noise.js'))) as Noise,
    connection: (await import(at('transport/connection.js'))) as Connection,
  };
}

function keys(b: Build, fill: number): thisNoise.StaticKey {
  const privateKey = Buffer.alloc(32, fill);
  return { privateKey, publicKey: b.secp.secp.publicKey(privateKey) };
}

function handshakeOp(b: Build): Op {
  const ik = keys(b, 0x12);
  const rk = keys(b, 0x21);
  return {
    name: `handshake ${b.name}`,
    run(n) {
      for (let j = 0; j < n; j++) {
        const i = b.noise.NoiseHandshake.initiator(ik, rk.publicKey);
        const r = b.noise.NoiseHandshake.responder(rk);
        r.readActOne(i.actOne());
        i.readActTwo(r.actTwo());
        r.readActThree(i.actThree());
      }
    },
  };
}

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/versus.js <root of another build>');
  const opts: RunOptions = { rounds: 9, batchMs: 100, warmupMs: 300 };
  const self: Build = { name: 'this build', secp: thisSecp, noise: thisNoise, connection: thisConnection };
  const them = { ...(await load(other)), name: 'other build' };
  const rows: Array<[string, Comparison]> = [];
  const progress = (s: string): boolean => process.stderr.write(`[versus] ${s}\n`);
  progress('handshake');
  rows.push(['full handshake', await compare(handshakeOp(self), handshakeOp(them), opts)]);
  for (const size of [32, 65535]) {
    const payload = randomBytes(size);
    progress(`${size} B`);
    rows.push([`${size} B TransportCipher, in memory`, await compare(cipherOp(payload), cipherOp(payload, them.noise.NoiseHandshake, them.secp.secp), opts)]);
    const a = await loopbackPair();
    const b = await loopbackPair(them.connection.NoiseSocket, them.secp.secp);
    try {
      rows.push([`${size} B NoiseSocket, loopback TCP`, await compare(socketOp(a, payload), socketOp(b, payload), opts)]);
    } finally {
      a.close();
      b.close();
    }
  }
  console.log(`this build (EC backend ${thisSecp.secpBackend.name}) against ${other}; ${opts.rounds} interleaved rounds, ratios are medians of per-round ratios`);
  console.log(
    table(
      ['', 'this build/s', 'IQR', 'other build/s', 'IQR', 'ratio', 'ratio IQR'],
      rows.map(([name, c]) => [name, fmtInt(c.candidate.median), fmtPct(c.candidate.iqrPct), fmtInt(c.reference.median), fmtPct(c.reference.iqrPct), fmt(c.ratio), fmtPct(c.ratioIqrPct)]),
    ),
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
