/**
 * Benchmark: on-chain resolution with 400 HTLCs in flight (issue 12). From the block holding a
 * commitment to every sweep we can publish at that block published: `Sweeper.scan` + `onBlock` over a
 * real `Channel` whose every step is written to a real SQLite store (WAL + synchronous=FULL, as the node
 * opens it) before it is published, with a chain that records publications.
 *
 *  - local: our commitment with 200 offered HTLCs past their expiry and 200 received ones whose preimage
 *    we revealed: 400 pre-signed HTLC-timeout/HTLC-success transactions (their fee fixed by the commitment).
 *  - remote: their commitment with the same HTLCs seen from the other side: one sweep claiming all 400
 *    directly (200 by preimage, 200 timed out) with our to_remote, at the backend's estimate.
 *
 * Reference (same run, interleaved): the EC work the candidate cannot avoid, 400 ECDSA signatures
 * (`secp.sign`) — the ratio is candidate time over reference time. Also printed: the writes made, and
 * the feerate each sweep paid (fee over its real weight) against the estimate it was built from.
 *
 * Standalone: `node dist/bench/onchain.js [--rounds N]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseTransaction, type BlockTransaction } from '../src/chain/block.js';
import type { ConnectedBlock } from '../src/chain/notifier.js';
import { Channel, type ChannelEnv } from '../src/channel/channel.js';
import { buildHtlcTxs, commitmentTxid, signCommitmentTx, signHtlcTxRemote } from '../src/channel/commitment.js';
import { buildCommitment } from '../src/channel/commitments.js';
import { channelSummary } from '../src/channel/manager.js';
import { DEFAULT_CHANNEL_CONFIG, initialChannelData, localParams } from '../src/channel/open.js';
import { Sweeper } from '../src/channel/onchain/sweeper.js';
import { ChannelRegistry } from '../src/channel/registry.js';
import { ChannelKeys } from '../src/channel/signer.js';
import { encodeChannelData, type ChannelData, type SpecHtlc } from '../src/channel/state.js';
import { sha256 } from '../src/crypto/hash.js';
import { KeyChain } from '../src/crypto/keychain.js';
import { secp } from '../src/crypto/secp256k1.js';
import { openSqliteStore } from '../src/store/database.js';
import { fmt, fmtInt, median, table } from './harness.js';

const HTLCS = 400;
const HEIGHT = 1000;
const ESTIMATE_PER_KW = 2500n;
const FUNDING_SAT = 10_000_000n;
const HTLC_MSAT = 10_000_000n;
const DEST = Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.alloc(20, 0xcc)]);

export interface OnchainCase {
  case: 'local' | 'remote';
  /** Median time from the block to the last publication, ms. */
  ms: number;
  /** Median time of the reference (400 signatures), ms. */
  refMs: number;
  /** Median of the per-round ratios candidate / reference. */
  ratio: number;
  published: number;
  writes: number;
  /** Feerate paid (fee over real weight) by each published transaction: min and max, sat/kw. */
  paidPerKw: [number, number];
  estimatePerKw: number;
}

/** A's channel with `HTLCS` HTLCs on both commitments (half each way), signed by B where A needs B's signatures. */
function channelData(): { d: ChannelData; keys: ChannelKeys; keysB: ChannelKeys } {
  const keys = new ChannelKeys(new KeyChain(Buffer.alloc(32, 1), 'regtest'), 0);
  const keysB = new ChannelKeys(new KeyChain(Buffer.alloc(32, 2), 'regtest'), 7);
  const cfg = { ...DEFAULT_CHANNEL_CONFIG, toSelfDelay: 6 };
  const common = { temporaryChannelId: Buffer.alloc(32, 9), channelId: Buffer.alloc(32, 0x42), format: 'static_remotekey' as const, fundingSat: FUNDING_SAT, pushMsat: FUNDING_SAT * 500n, feeratePerKw: 1000n, funding: { txid: '11'.repeat(32), vout: 0 }, minimumDepth: 1, announce: false };
  const d = initialChannelData({ ...common, peerId: 'B', opener: 'local', keyIndex: 0, local: localParams(keys, cfg, FUNDING_SAT), remote: localParams(keysB, cfg, FUNDING_SAT), remoteFirstPoint: keysB.point(0n) });
  const out: SpecHtlc[] = [];
  const inc: SpecHtlc[] = [];
  for (let i = 0; i < HTLCS / 2; i++) {
    out.push({ direction: 'offered', add: { id: BigInt(i), amountMsat: HTLC_MSAT, paymentHash: sha256(Buffer.from(`out ${i}`)), cltvExpiry: HEIGHT - 1, onion: Buffer.alloc(0) } });
    const preimage = sha256(Buffer.from(`in ${i}`));
    inc.push({ direction: 'received', add: { id: BigInt(i), amountMsat: HTLC_MSAT, paymentHash: sha256(preimage), cltvExpiry: HEIGHT + 40, onion: Buffer.alloc(0) } });
    d.localChanges.signed.push({ kind: 'fulfill', id: BigInt(i), preimage });
  }
  const moved = (HTLC_MSAT * BigInt(HTLCS)) / 2n;
  const local = { ...d.localCommit.spec, toLocalMsat: d.localCommit.spec.toLocalMsat - moved, toRemoteMsat: d.localCommit.spec.toRemoteMsat - moved, htlcs: [...out, ...inc] };
  const c = buildCommitment(d, 'local', 0n, keys.point(0n), local);
  const theirHtlcKey = keysB.htlcPrivkey(keys.point(0n));
  d.localCommit = { index: 0n, spec: local, txid: commitmentTxid(c), remoteSig: signCommitmentTx(c, keysB.fundingPrivkey), htlcSigs: buildHtlcTxs(c).map((t) => signHtlcTxRemote(t, theirHtlcKey)) };
  // Their commitment: the same HTLCs, directions from their side.
  const flip = (h: SpecHtlc): SpecHtlc => ({ ...h, direction: h.direction === 'offered' ? 'received' : 'offered' });
  const remote = { ...d.remoteCommit.spec, toLocalMsat: d.remoteCommit.spec.toLocalMsat - moved, toRemoteMsat: d.remoteCommit.spec.toRemoteMsat - moved, htlcs: local.htlcs.map(flip) };
  d.remoteCommit = { ...d.remoteCommit, spec: remote, txid: commitmentTxid(buildCommitment(d, 'remote', 0n, d.remoteCommit.point, remote)) };
  d.state = 'CHANNELD_NORMAL';
  return { d, keys, keysB };
}

async function round(which: 'local' | 'remote', dir: string, tag: string): Promise<{ ms: number; published: string[]; writes: number }> {
  const { d, keys } = channelData();
  const store = await openSqliteStore(join(dir, `${tag}.sqlite3`));
  let writes = 0;
  const env: ChannelEnv = {
    keys,
    log: pino({ level: 'silent' }),
    send: () => false,
    persist: async (x) => {
      writes++;
      await store.channelData.save(channelSummary(x), encodeChannelData(x));
    },
    revoked: async () => undefined,
    shutdownScript: async () => DEST,
    closingFeerate: async () => 1000n,
    feerateRange: async () => ({ min: 253n, max: 100_000n }),
    fail: async () => undefined,
    publishClosing: async () => undefined,
  };
  const ch = new Channel(d, env);
  await env.persist(d);
  writes = 0;
  const registry = new ChannelRegistry(new KeyChain(Buffer.alloc(32, 1), 'regtest'));
  registry.add(ch);
  const published: string[] = [];
  const sweeper = new Sweeper({
    chain: { sendRawTransaction: async (hex) => (published.push(hex as string), parseTransaction(Buffer.from(hex as string, 'hex')).txid) },
    registry,
    revocations: { findRevocation: async () => undefined },
    walletScript: async () => DEST,
    estimateFeerate: async () => ESTIMATE_PER_KW,
    feeratePerKw: async () => 1000n,
    fundFeeInputs: async () => {
      throw new Error('no wallet here');
    },
    log: pino({ level: 'silent' }),
    closed: () => undefined,
  });
  const commitment: BlockTransaction =
    which === 'local'
      ? parseTransaction(Buffer.from(ch.localCommitmentTx().hex, 'hex'))
      : { txid: d.remoteCommit.txid, wtxid: d.remoteCommit.txid, inputs: [d.funding], outputs: [], hasWitness: true, raw: new Uint8Array() };
  const block = { height: HEIGHT, hash: '00'.repeat(32), raw: new Uint8Array(), block: { header: {} as never, hash: '00'.repeat(32), transactions: [commitment] } } as ConnectedBlock;
  const t0 = performance.now();
  await sweeper.scan(block);
  await sweeper.onBlock(ch, HEIGHT);
  const ms = performance.now() - t0;
  await store.close();
  return { ms, published, writes };
}

function reference(): number {
  const digests = Array.from({ length: HTLCS }, (_, i) => sha256(Buffer.from(`digest ${i}`)));
  const key = sha256(Buffer.from('key'));
  const t0 = performance.now();
  for (const m of digests) secp.sign(m, key);
  return performance.now() - t0;
}

/** Fee over real weight, sat/kw, of a transaction spending outputs whose values `valueOf` knows. */
function paidPerKw(hex: string, valueOf: (txid: string, vout: number) => bigint): number {
  const t = parseTransaction(Buffer.from(hex, 'hex'));
  const raw = Buffer.from(hex, 'hex');
  const inSat = t.inputs.reduce((s, i) => s + valueOf(i.txid, i.vout), 0n);
  const outSat = t.outputs.reduce((s, o) => s + o.valueSat, 0n);
  // Weight: 3 × stripped size + total size; the stripped size drops marker, flag and witnesses.
  const witness = t.hasWitness ? raw.length - strippedSize(t) : 0;
  const weight = (raw.length - witness) * 4 + witness;
  return Number(((inSat - outSat) * 1000n) / BigInt(weight));
}

function strippedSize(t: BlockTransaction): number {
  const varint = (n: number): number => (n < 0xfd ? 1 : n <= 0xffff ? 3 : 5);
  return 4 + varint(t.inputs.length) + t.inputs.length * 41 + varint(t.outputs.length) + t.outputs.reduce((s, o) => s + 8 + varint(o.script.length) + o.script.length, 0) + 4;
}

export async function benchOnchain(opts: { rounds: number }): Promise<OnchainCase[]> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-onchain-'));
  const results: OnchainCase[] = [];
  try {
    const { d, keys } = channelData();
    const values = new Map<string, bigint>();
    for (const [txid, c] of [
      [d.localCommit.txid, buildCommitment(d, 'local', 0n, keys.point(0n), d.localCommit.spec)],
      [d.remoteCommit.txid, buildCommitment(d, 'remote', 0n, d.remoteCommit.point, d.remoteCommit.spec)],
    ] as const)
      c.outputs.forEach((o, vout) => values.set(`${txid}:${vout}`, o.amountSat));
    for (const which of ['local', 'remote'] as const) {
      const ms: number[] = [];
      const refs: number[] = [];
      const ratios: number[] = [];
      let last: Awaited<ReturnType<typeof round>> | undefined;
      for (let r = 0; r < opts.rounds; r++) {
        const first = r % 2 === 0;
        const ref1 = first ? reference() : 0;
        last = await round(which, dir, `${which}-${r}`);
        const ref = first ? ref1 : reference();
        ms.push(last.ms);
        refs.push(ref);
        ratios.push(last.ms / ref);
      }
      const paid = last!.published.map((hex) => paidPerKw(hex, (txid, vout) => values.get(`${txid}:${vout}`) ?? 0n));
      results.push({ case: which, ms: median(ms), refMs: median(refs), ratio: median(ratios), published: last!.published.length, writes: last!.writes, paidPerKw: [Math.min(...paid), Math.max(...paid)], estimatePerKw: Number(ESTIMATE_PER_KW) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

export function printOnchain(rs: OnchainCase[]): string[] {
  return [
    `## On-chain resolution with ${HTLCS} HTLCs in flight (block with the commitment → every sweep published)`,
    '',
    table(
      ['case', 'ms (median)', `ref: ${HTLCS} signatures, ms`, 'ratio', 'published', 'writes', 'feerate paid, sat/kw', 'estimate'],
      rs.map((r) => [r.case, fmt(r.ms, 1), fmt(r.refMs, 1), fmt(r.ratio, 1), fmtInt(r.published), fmtInt(r.writes), r.paidPerKw[0] === r.paidPerKw[1] ? fmtInt(r.paidPerKw[0]) : `${fmtInt(r.paidPerKw[0])}–${fmtInt(r.paidPerKw[1])}`, fmtInt(r.estimatePerKw)]),
    ),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 5;
  console.log(printOnchain(await benchOnchain({ rounds })).join('\n'));
}
