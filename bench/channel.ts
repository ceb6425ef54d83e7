/**
 * Benchmark: commitment updates on ONE channel, anode ↔ anode, each figure next to references measured
 * in the same run.
 *
 * Two `PeerManager`s on 127.0.0.1 (real BOLT 8 over loopback TCP), each with its own SQLite file (WAL +
 * synchronous=FULL, as the node opens it), and one `Channel` engine per side wired as the node's
 * ChannelManager wires it: messages through `peer.send` / `peer.on('message')` and the real codec, every
 * state persisted with `channelData.save` before the message that promises it, every revocation of the
 * counterparty stored with `channelData.addRevocation`. Both sides run in this process, on one thread.
 *
 * Rounds:
 *  - HTLC: one side `addHtlc` → commitment_signed / revoke_and_ack both ways → the other side sees
 *    'htlcReceived' → `fulfillHtlc` → commitment_signed / revoke_and_ack both ways → both settled and
 *    idle. Two signature rounds each way. Direction alternates (A→B, B→A) so the balances stay put.
 *  - fee: the opener `updateFee` (two values alternating) → one signature round each way → idle.
 *
 * References, per round type, each interleaved with the candidate (harness `compare`):
 *  - raw crypto: the signatures, verifications and per-commitment point derivations that one round
 *    needs (counted from the wire and the key object during a sample round), as direct calls of
 *    `signCommitmentTx` / `verifyCommitmentSig` / `signHtlcTxRemote` / `verifyHtlcSigRemote` on
 *    prebuilt transactions and `ChannelKeys.point`. Its rate is the bound a round cannot beat with this
 *    EC backend.
 *  - SQLite: the same `channelData.save` and `addRevocation` calls a round makes (the very documents a
 *    sample round persisted, replayed on two fresh files in the same directory).
 *
 * Standalone: `node dist/bench/channel.js [--rounds N] [--batch-ms N]`.
 */
import { OutcomeWrites } from '../src/channel/outcome-writes.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Channel, type ChannelEnv, type RevokedCommitment } from '../src/channel/channel.js';
import { buildHtlcTxs, commitmentTxid, signCommitmentTx, signHtlcTxRemote, verifyCommitmentSig, verifyHtlcSigRemote, type CommitmentFormat } from '../src/channel/commitment.js';
import { buildCommitment, checkLocalCommitment, signRemoteCommitment } from '../src/channel/commitments.js';
import { ChannelMessageType, channelMessagePayload, decodeChannelMessage, isChannelMessageType, type ChannelMessage } from '../src/channel/messages.js';
import { DEFAULT_CHANNEL_CONFIG, initialChannelData, localParams } from '../src/channel/open.js';
import { ChannelKeys } from '../src/channel/signer.js';
import { encodeChannelData, type ChannelData, type RemoteCommit } from '../src/channel/state.js';
import { sha256 } from '../src/crypto/hash.js';
import { KeyChain } from '../src/crypto/keychain.js';
import { secp } from '../src/crypto/secp256k1.js';
import { INIT_FEATURES } from '../src/node/node.js';
import { DEFAULT_PEER_OPTIONS, PeerManager } from '../src/peer/manager.js';
import { channelSummary } from '../src/channel/manager.js';
import type { Peer } from '../src/peer/peer.js';
import type { ChannelSummary } from '../src/store/channel-data.js';
import { openSqliteStore, openStore, type Store } from '../src/store/database.js';
import { CHAIN_HASH } from '../src/wire/messages.js';
import { withTimeout } from '../test/harness/wait.js';
import { compare, fmt, fmtInt, fmtPct, iqrPct, median, table, type Comparison, type Op, type RunOptions } from './harness.js';

const silent = pino({ level: 'silent' });
const FORMAT: CommitmentFormat = 'static_remotekey';
const FUNDING_SAT = 1_000_000n;
/** Half of the channel pushed to the fundee, so HTLCs can go either way. */
const PUSH_MSAT = 500_000_000n;
const FEERATE = 1000n;
/** Well above dust + the second-level fee: every HTLC is untrimmed (one HTLC signature per commitment that carries it). */
const HTLC_MSAT = 10_000_000n;
const CLTV = 800_000;
const ROUND_TIMEOUT_MS = 30_000;
/** A round takes tens of milliseconds: timed batches are this many times --batch-ms, so each holds several rounds. */
const BATCH_FACTOR = 3;

/** What one round does, counted during sample rounds (both sides together). */
export interface RoundCounts {
  /** commitment_signed messages (each: 1 commitment signature by the sender, 1 verification by the receiver). */
  commitmentSigned: number;
  /** revoke_and_ack messages. */
  revokeAndAck: number;
  /** Commitment transaction signatures, and as many verifications. */
  commitmentSigs: number;
  /** HTLC transaction signatures (one per untrimmed HTLC per commitment_signed), and as many verifications. */
  htlcSigs: number;
  /** Per-commitment point derivations: `ChannelKeys.point` calls plus one `perCommitmentPoint(secret)` per revoke_and_ack received. */
  points: number;
  /** Commitment transactions built (sender and receiver each build one per commitment_signed: keys, outputs, txid, HTLC txs). */
  commitmentBuilds: number;
  /** Of which carry an (untrimmed) HTLC. */
  commitmentBuildsWithHtlc: number;
  /** `channelData.save` transactions (both files). */
  saves: number;
  /** `channelData.addRevocation` writes (both files). */
  revocations: number;
  /** Messages sent over the wire, both ways, and their payload bytes. */
  messages: number;
  bytes: number;
  /** Mean size of a persisted channel document, in bytes. */
  docBytes: number;
}

export interface ChannelScenario {
  name: string;
  counts: RoundCounts;
  /** Round trips/s vs the raw sign + verify (+ points) bound/s. */
  crypto: Comparison;
  /** Round trips/s vs the same SQLite commits/s. */
  sqlite: Comparison;
  /** Milliseconds per round (median of both comparisons' candidate rates) and of each reference. */
  roundMs: number;
  cryptoMs: number;
  sqliteMs: number;
}

export interface ChannelBenchResult {
  format: CommitmentFormat;
  htlcMsat: number;
  htlc: ChannelScenario;
  fee: ChannelScenario;
  /** µs per primitive, timed once in this run (for the budget lines). */
  unitUs: { commitmentSign: number; commitmentVerify: number; htlcSign: number; htlcVerify: number; point: number; commitmentBuild: number; commitmentBuildWithHtlc: number; save: number; revocation: number };
  /** Timed batches are this many times --batch-ms (a round takes tens of milliseconds). */
  batchFactor: number;
  /** Rounds run in all (warm-up, calibration, timed). */
  totalRounds: { htlc: number; fee: number };
}

// ---------------------------------------------------------------------------------------------------
// One side: a node's peer manager, store and the channel engine

export interface Counters {
  commitmentSigned: number;
  commitmentSignedWithHtlcs: number;
  revokeAndAck: number;
  htlcSigs: number;
  points: number;
  saves: number;
  revocations: number;
  messages: number;
  bytes: number;
  docBytes: number;
  /** When set, what this side persisted (in order) is recorded here for the SQLite reference. */
  record?: { saves: { summary: ChannelSummary; data: string }[]; revocations: { txid: string; channelId: string; commitNum: number; data: string }[] };
}

const zeroCounters = (): Counters => ({ commitmentSigned: 0, commitmentSignedWithHtlcs: 0, revokeAndAck: 0, htlcSigs: 0, points: 0, saves: 0, revocations: 0, messages: 0, bytes: 0, docBytes: 0 });

export interface Side {
  name: 'A' | 'B';
  store: Store;
  manager: PeerManager;
  keys: ChannelKeys;
  channel: Channel;
  peer: Peer | undefined;
  counters: Counters;
  failures: string[];
  /** As the ChannelManager does: HTLC outcome writes the channel's next state write waits for (set by bench/payment.ts). */
  outcomes?: OutcomeWrites;
}


/** As the ChannelManager stores a revocation: the commitment without onions, and the secret. */
function revocationRecord(r: RevokedCommitment): { txid: string; channelId: string; commitNum: number; data: string } {
  const commit: RemoteCommit = { ...r.commit, spec: { ...r.commit.spec, htlcs: r.commit.spec.htlcs.map((h) => ({ direction: h.direction, add: { ...h.add, onion: Buffer.alloc(0) } })) } };
  return {
    txid: r.commit.txid,
    channelId: r.channelId.toString('hex'),
    commitNum: Number(r.commit.index),
    data: encodeChannelData({ version: 1, revocation: { commit, secret: r.secret } } as unknown as ChannelData),
  };
}

function env(s: Side): ChannelEnv {
  return {
    keys: s.keys,
    log: silent,
    send(msg: ChannelMessage): boolean {
      const p = s.peer;
      if (!p?.connected) return false;
      const payload = channelMessagePayload(msg);
      const c = s.counters;
      c.messages++;
      c.bytes += 2 + payload.length;
      if (msg.type === ChannelMessageType.COMMITMENT_SIGNED) {
        const h = (msg as { htlcSignatures: unknown[] }).htlcSignatures.length;
        c.commitmentSigned++;
        c.htlcSigs += h;
        if (h > 0) c.commitmentSignedWithHtlcs++;
      } else if (msg.type === ChannelMessageType.REVOKE_AND_ACK) c.revokeAndAck++;
      return p.send({ type: msg.type, unknown: true, payload });
    },
    async persist(d: ChannelData) {
      const summary = channelSummary(d);
      const data = encodeChannelData(d);
      s.counters.saves++;
      s.counters.docBytes += data.length;
      s.counters.record?.saves.push({ summary, data });
      await s.outcomes?.written(d.channelId.toString('hex'));
      await s.store.channelData.save(summary, data);
    },
    async revoked(r: RevokedCommitment) {
      const rec = revocationRecord(r);
      s.counters.revocations++;
      s.counters.record?.revocations.push(rec);
      await s.store.channelData.addRevocation(rec);
    },
    shutdownScript: async () => Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.alloc(20, s.name === 'A' ? 0xaa : 0xbb)]),
    closingFeerate: async () => FEERATE,
    feerateRange: async () => ({ min: 253n, max: 10_000n }),
    async fail(reason: string) {
      s.failures.push(reason);
    },
    async publishClosing() {
      /* not reached */
    },
  };
}

/** Routes a connected peer's channel messages to the side's channel (as ChannelManager#onMessage does). */
function attach(s: Side, peer: Peer): void {
  s.peer = peer;
  peer.on('message', (m) => {
    if (!('unknown' in m) || !m.unknown || !isChannelMessageType(m.type)) return;
    let msg: ChannelMessage;
    try {
      msg = decodeChannelMessage(m.type, m.payload);
    } catch (err) {
      s.failures.push(`decode: ${(err as Error).message}`);
      return;
    }
    s.channel.handle(msg).catch((err: Error) => s.failures.push(`handle: ${err.message}`));
  });
}

export interface Pair {
  a: Side;
  b: Side;
  close(): Promise<void>;
}

function nodeKey(fill: number): { privateKey: Buffer; publicKey: Buffer } {
  const privateKey = Buffer.alloc(32, fill);
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}

/** `locations`: the two nodes' databases (`postgres://…`; default: SQLite files in `dir`). */
export async function openPair(dir: string, locations?: readonly [string, string]): Promise<Pair> {
  const stores = [await openStore(locations?.[0] ?? join(dir, 'a.sqlite3')), await openStore(locations?.[1] ?? join(dir, 'b.sqlite3'))] as const;
  const managers = [0x11, 0x22].map(
    (fill, i) =>
      new PeerManager({
        ...DEFAULT_PEER_OPTIONS,
        pingIntervalMs: 3_600_000,
        localKey: nodeKey(fill),
        chainHash: CHAIN_HASH.regtest,
        features: INIT_FEATURES,
        listen: [{ host: '127.0.0.1', port: 0 }],
        peers: stores[i]!.peers,
        log: silent,
      }),
  );
  const [ma, mb] = managers as [PeerManager, PeerManager];
  await ma.start();
  await mb.start();

  // The channel as both sides hold it right after funding_created / funding_signed (cf. test/channel/pair.ts).
  const keysA = new ChannelKeys(new KeyChain(Buffer.alloc(32, 1), 'regtest'), 0);
  const keysB = new ChannelKeys(new KeyChain(Buffer.alloc(32, 2), 'regtest'), 7);
  const cfg = { ...DEFAULT_CHANNEL_CONFIG, toSelfDelay: 144 };
  const pA = localParams(keysA, cfg, FUNDING_SAT);
  const pB = localParams(keysB, cfg, FUNDING_SAT);
  const common = {
    temporaryChannelId: Buffer.alloc(32, 9),
    channelId: Buffer.alloc(32, 0x42),
    format: FORMAT,
    fundingSat: FUNDING_SAT,
    pushMsat: PUSH_MSAT,
    feeratePerKw: FEERATE,
    funding: { txid: '11'.repeat(32), vout: 0 },
    minimumDepth: 1,
    announce: false,
  };
  const dA = initialChannelData({ ...common, peerId: mb.nodeId.toString('hex'), opener: 'local', keyIndex: 0, local: pA, remote: pB, remoteFirstPoint: keysB.point(0n) });
  const dB = initialChannelData({ ...common, peerId: ma.nodeId.toString('hex'), opener: 'remote', keyIndex: 7, local: pB, remote: pA, remoteFirstPoint: keysA.point(0n) });
  const sigForB = signRemoteCommitment(dA, keysA, 0n, dA.remoteCommit.point, dA.remoteCommit.spec);
  const sigForA = signRemoteCommitment(dB, keysB, 0n, dB.remoteCommit.point, dB.remoteCommit.spec);
  for (const [d, keys, sig, remoteTxid] of [
    [dA, keysA, sigForA, sigForB.txid],
    [dB, keysB, sigForB, sigForA.txid],
  ] as const) {
    const c = checkLocalCommitment(d, keys, 0n, d.localCommit.spec, sig.sig, []);
    if ('error' in c) throw new Error(`bench: initial commitment: ${c.error}`);
    d.localCommit = { ...d.localCommit, txid: c.txid, remoteSig: sig.sig };
    d.remoteCommit.txid = remoteTxid;
  }

  const mk = (name: 'A' | 'B', store: Store, manager: PeerManager, keys: ChannelKeys, d: ChannelData): Side => {
    const s: Side = { name, store, manager, keys, channel: undefined as unknown as Channel, peer: undefined, counters: zeroCounters(), failures: [] };
    // Count per-commitment point derivations on the key object the engine uses.
    const point = keys.point.bind(keys);
    keys.point = (n: bigint): Buffer => {
      s.counters.points++;
      return point(n);
    };
    s.channel = new Channel(d, env(s));
    return s;
  };
  const a = mk('A', stores[0], ma, keysA, dA);
  const b = mk('B', stores[1], mb, keysB, dB);
  // The funding flow persisted both documents before the channel went live.
  await stores[0].channelData.save(channelSummary(dA), encodeChannelData(dA));
  await stores[1].channelData.save(channelSummary(dB), encodeChannelData(dB));

  // Connect; on 'connected' (before the manager releases held messages) attach and reestablish.
  const reestablished = Promise.all([a, b].map((s) => new Promise<void>((r) => s.channel.once('reestablished', () => r()))));
  for (const s of [a, b]) {
    s.manager.on('connected', (peer) => {
      attach(s, peer);
      s.channel.connect().catch((err: Error) => s.failures.push(`connect: ${err.message}`));
    });
  }
  await ma.connect(mb.nodeId, '127.0.0.1', mb.bound[0]!.port);
  await inRound(reestablished, 'channel_reestablish', [a, b]);
  await Promise.all([a.channel.fundingLocked('1x1x0'), b.channel.fundingLocked('1x1x0')]);
  await waitFor([a, b], () => a.channel.usable && b.channel.usable && a.channel.data.state === 'CHANNELD_NORMAL' && b.channel.data.state === 'CHANNELD_NORMAL', 'CHANNELD_NORMAL', ['state']);
  return {
    a,
    b,
    async close() {
      await ma.stop();
      await mb.stop();
      await stores[0].close();
      await stores[1].close();
    },
  };
}

function checkFailures(sides: Side[]): void {
  for (const s of sides) if (s.failures.length > 0) throw new Error(`bench: channel side ${s.name} failed: ${s.failures.join('; ')}`);
}

/** `p` within a round's time; past it, the failure of a channel side that stalled it, if any, names the cause. */
function inRound<T>(p: Promise<T>, what: string, sides: Side[]): Promise<T> {
  return withTimeout(p, ROUND_TIMEOUT_MS, `bench: ${what}`).catch((e: unknown) => {
    checkFailures(sides);
    throw e;
  });
}

/** Resolves once `cond()` holds, checked now and on each of the channels' `events`. */
function waitFor(sides: Side[], cond: () => boolean, what: string, events: ('revoked' | 'state')[] = ['revoked']): Promise<void> {
  checkFailures(sides);
  if (cond()) return Promise.resolve();
  const p = new Promise<void>((resolve) => {
    const check = (): void => {
      if (!cond()) return;
      for (const s of sides) for (const e of events) s.channel.off(e, check);
      resolve();
    };
    for (const s of sides) for (const e of events) s.channel.on(e, check);
  });
  return inRound(p, what, sides);
}

/** Both sides hold commitments number `n` on both sides, nothing in flight. */
function settledAt(a: Side, b: Side, n: bigint): () => boolean {
  return () =>
    [a, b].every((s) => s.channel.data.localCommit.index === n && s.channel.data.remoteCommit.index === n && !s.channel.data.nextRemoteCommit);
}

export class Rounds {
  #htlcRound = 0;
  #feeRound = 0;
  #preimage = 0;
  constructor(readonly pair: Pair) {}

  get totals(): { htlc: number; fee: number } {
    return { htlc: this.#htlcRound, fee: this.#feeRound };
  }

  /** One HTLC offered, committed both ways, fulfilled, committed both ways. Alternates direction. */
  async htlc(): Promise<void> {
    const { a, b } = this.pair;
    const [from, to] = this.#htlcRound++ % 2 === 0 ? [a, b] : [b, a];
    const n = a.channel.data.localCommit.index + 2n;
    const preimage = Buffer.alloc(32);
    preimage.writeUInt32BE(++this.#preimage, 28);
    const paymentHash = sha256(preimage);
    const received = new Promise<bigint>((resolve) => {
      const on = (h: { id: bigint; paymentHash: Buffer }): void => {
        if (!h.paymentHash.equals(paymentHash)) return;
        to.channel.off('htlcReceived', on);
        resolve(h.id);
      };
      to.channel.on('htlcReceived', on);
    });
    await from.channel.addHtlc({ amountMsat: HTLC_MSAT, paymentHash, cltvExpiry: CLTV });
    const id = await inRound(received, 'htlcReceived', [a, b]);
    await to.channel.fulfillHtlc(id, preimage);
    await waitFor([a, b], settledAt(a, b, n), 'the fulfill to be committed');
    await Promise.all([a.channel.idle(), b.channel.idle()]);
  }

  /** One update_fee from the opener (A), committed both ways. */
  async fee(): Promise<void> {
    const { a, b } = this.pair;
    const n = a.channel.data.localCommit.index + 1n;
    await a.channel.updateFee(this.#feeRound++ % 2 === 0 ? FEERATE + 250n : FEERATE);
    await waitFor([a, b], settledAt(a, b, n), 'the fee update to be committed');
    await Promise.all([a.channel.idle(), b.channel.idle()]);
  }
}

/** Runs `k` rounds with counters on (and recording what was persisted), returns the per-round counts. */
async function countRounds(pair: Pair, round: () => Promise<void>, k: number): Promise<{ counts: RoundCounts; record: { a: NonNullable<Counters['record']>; b: NonNullable<Counters['record']> } }> {
  const { a, b } = pair;
  for (const s of [a, b]) s.counters = { ...zeroCounters(), record: { saves: [], revocations: [] } };
  for (let i = 0; i < k; i++) await round();
  const sum = (f: (c: Counters) => number): number => f(a.counters) + f(b.counters);
  const per = (f: (c: Counters) => number): number => {
    const total = sum(f);
    if (total % k !== 0) throw new Error(`bench: a count differs between rounds (${total} over ${k} rounds)`);
    return total / k;
  };
  const commitmentSigned = per((c) => c.commitmentSigned);
  const revokeAndAck = per((c) => c.revokeAndAck);
  const saves = per((c) => c.saves);
  const counts: RoundCounts = {
    commitmentSigned,
    revokeAndAck,
    commitmentSigs: commitmentSigned,
    htlcSigs: per((c) => c.htlcSigs),
    // keys.point (receiver's own point per commitment_signed, next point per revoke_and_ack sent) plus
    // perCommitmentPoint(secret) per revoke_and_ack received.
    points: per((c) => c.points) + revokeAndAck,
    commitmentBuilds: 2 * commitmentSigned,
    commitmentBuildsWithHtlc: 2 * per((c) => c.commitmentSignedWithHtlcs),
    saves,
    revocations: per((c) => c.revocations),
    messages: per((c) => c.messages),
    bytes: sum((c) => c.bytes) / k,
    docBytes: sum((c) => c.docBytes) / Math.max(1, sum((c) => c.saves)),
  };
  const record = { a: a.counters.record!, b: b.counters.record! };
  for (const s of [a, b]) s.counters = zeroCounters();
  return { counts, record };
}

// ---------------------------------------------------------------------------------------------------
// References

/** The signatures, verifications and point derivations of one round, on prebuilt transactions. */
function cryptoOp(name: string, pair: Pair, counts: RoundCounts): Op {
  const { a } = pair;
  const d = a.channel.data;
  const keys = new ChannelKeys(new KeyChain(Buffer.alloc(32, 1), 'regtest'), 0);
  // Their commitment with one HTLC in it (what we sign), and our own (what we verify): same shape.
  const spec = {
    feeratePerKw: FEERATE,
    toLocalMsat: d.remoteCommit.spec.toLocalMsat - HTLC_MSAT,
    toRemoteMsat: d.remoteCommit.spec.toRemoteMsat,
    htlcs: [{ direction: 'offered' as const, add: { id: 0n, amountMsat: HTLC_MSAT, paymentHash: Buffer.alloc(32, 7), cltvExpiry: CLTV, onion: Buffer.alloc(0) } }],
  };
  const point = keys.point(5n);
  const tx = buildCommitment(d, 'remote', 5n, point, spec);
  const htlcTx = buildHtlcTxs(tx)[0];
  if (!htlcTx) throw new Error('bench: the reference HTLC is trimmed');
  const fundingPub = keys.fundingPubkey;
  const htlcPriv = keys.htlcPrivkey(point);
  const htlcPub = secp.publicKey(htlcPriv);
  const sig = signCommitmentTx(tx, keys.fundingPrivkey);
  const hsig = signHtlcTxRemote(htlcTx, htlcPriv);
  if (!verifyCommitmentSig(tx, fundingPub, sig) || !verifyHtlcSigRemote(htlcTx, htlcPub, hsig)) throw new Error('bench: reference signatures do not verify');
  let idx = 100n;
  return {
    name,
    run(n: number) {
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < counts.commitmentSigs; i++) {
          signCommitmentTx(tx, keys.fundingPrivkey);
          if (!verifyCommitmentSig(tx, fundingPub, sig)) throw new Error('bench: verify failed');
        }
        for (let i = 0; i < counts.htlcSigs; i++) {
          signHtlcTxRemote(htlcTx, htlcPriv);
          if (!verifyHtlcSigRemote(htlcTx, htlcPub, hsig)) throw new Error('bench: verify failed');
        }
        for (let i = 0; i < counts.points; i++) keys.point(idx++);
      }
    },
  };
}

/** The same saves and revocation writes one round made, replayed on two fresh SQLite files. */
async function sqliteOp(name: string, dir: string, tag: string, record: { a: NonNullable<Counters['record']>; b: NonNullable<Counters['record']> }, rounds: number): Promise<{ op: Op; close(): Promise<void> }> {
  const ra = await openSqliteStore(join(dir, `ref-${tag}-a.sqlite3`));
  const rb = await openSqliteStore(join(dir, `ref-${tag}-b.sqlite3`));
  const per = (xs: unknown[]): number => xs.length / rounds;
  let seq = 0;
  // One round's worth: the recorded writes of each side, taken round-robin from the sample.
  let cursor = 0;
  return {
    op: {
      name,
      async run(n: number) {
        for (let r = 0; r < n; r++) {
          const k = cursor++ % rounds;
          for (const [store, rec] of [
            [ra, record.a],
            [rb, record.b],
          ] as const) {
            const ns = per(rec.saves);
            for (let i = 0; i < ns; i++) {
              const s = rec.saves[k * ns + i]!;
              await store.channelData.save(s.summary, s.data);
            }
            const nr = per(rec.revocations);
            for (let i = 0; i < nr; i++) {
              const v = rec.revocations[k * nr + i]!;
              await store.channelData.addRevocation({ ...v, txid: (++seq).toString(16).padStart(64, '0') });
            }
          }
        }
      },
    },
    async close() {
      await ra.close();
      await rb.close();
    },
  };
}

/** µs per call of `fn`, over about `ms` milliseconds. */
async function timeUs(fn: () => unknown, ms: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 5; i++) await fn();
    n += 5;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n;
}

/** Median µs per call of each function: warmed up, then `passes` passes of ~`ms` each, interleaved. */
async function unitCosts<K extends string>(fns: Record<K, () => unknown>, passes: number, ms = 30): Promise<Record<K, number>> {
  const keys = Object.keys(fns) as K[];
  for (const k of keys) for (let i = 0; i < 20; i++) await fns[k]();
  const samples = new Map<K, number[]>(keys.map((k) => [k, []]));
  for (let p = 0; p < passes; p++) for (const k of keys) samples.get(k)!.push(await timeUs(fns[k], ms));
  return Object.fromEntries(keys.map((k) => [k, median(samples.get(k)!)])) as Record<K, number>;
}

async function measureUnits(pair: Pair, dir: string, record: { a: NonNullable<Counters['record']> }, passes: number): Promise<ChannelBenchResult['unitUs']> {
  const d = pair.a.channel.data;
  const keys = new ChannelKeys(new KeyChain(Buffer.alloc(32, 1), 'regtest'), 0);
  const spec = { ...d.remoteCommit.spec, htlcs: [{ direction: 'offered' as const, add: { id: 0n, amountMsat: HTLC_MSAT, paymentHash: Buffer.alloc(32, 7), cltvExpiry: CLTV, onion: Buffer.alloc(0) } }] };
  spec.toLocalMsat -= HTLC_MSAT;
  const point = keys.point(5n);
  const tx = buildCommitment(d, 'remote', 5n, point, spec);
  const htlcTx = buildHtlcTxs(tx)[0]!;
  const htlcPriv = keys.htlcPrivkey(point);
  const htlcPub = secp.publicKey(htlcPriv);
  const sig = signCommitmentTx(tx, keys.fundingPrivkey);
  const hsig = signHtlcTxRemote(htlcTx, htlcPriv);
  // What the engine does per commitment besides signing: derive the keys, build, txid, HTLC transactions.
  const bare = { ...d.remoteCommit.spec, htlcs: [] };
  const build = (sp: typeof spec): void => {
    const t = buildCommitment(d, 'remote', 5n, point, sp);
    commitmentTxid(t);
    buildHtlcTxs(t);
  };
  let idx = 1000n;
  const store = await openSqliteStore(join(dir, 'units.sqlite3'));
  const doc = record.a.saves[0]!;
  const rev = record.a.revocations[0]!;
  let seq = 0;
  try {
    return await unitCosts(
      {
        commitmentSign: () => signCommitmentTx(tx, keys.fundingPrivkey),
        commitmentVerify: () => verifyCommitmentSig(tx, keys.fundingPubkey, sig),
        htlcSign: () => signHtlcTxRemote(htlcTx, htlcPriv),
        htlcVerify: () => verifyHtlcSigRemote(htlcTx, htlcPub, hsig),
        point: () => keys.point(idx++),
        commitmentBuild: () => build(bare),
        commitmentBuildWithHtlc: () => build(spec),
        save: () => store.channelData.save(doc.summary, doc.data),
        revocation: () => store.channelData.addRevocation({ ...rev, txid: (++seq).toString(16).padStart(64, '0') }),
      },
      passes,
    );
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------------

async function scenario(name: string, pair: Pair, round: () => Promise<void>, dir: string, tag: string, opts: RunOptions & { progress?: (s: string) => void }): Promise<{ s: ChannelScenario; record: { a: NonNullable<Counters['record']>; b: NonNullable<Counters['record']> } }> {
  // An even number of sample rounds, so alternating directions and fee values are both in the sample.
  const SAMPLE = 4;
  const { counts, record } = await countRounds(pair, round, SAMPLE);
  const candidate: Op = {
    name: `${name}: round trips`,
    async run(n: number) {
      for (let i = 0; i < n; i++) await round();
    },
  };
  opts.progress?.(`channel: ${name} vs raw crypto …`);
  const crypto = await compare(candidate, cryptoOp(`raw crypto of one ${name} round`, pair, counts), opts);
  opts.progress?.(`channel: ${name} vs SQLite commits …`);
  const ref = await sqliteOp(`SQLite commits of one ${name} round`, dir, tag, record, SAMPLE);
  let sqlite: Comparison;
  try {
    sqlite = await compare(candidate, ref.op, opts);
  } finally {
    await ref.close();
  }
  checkFailures([pair.a, pair.b]);
  const roundMs = 1000 / median([...crypto.candidate.rates, ...sqlite.candidate.rates]);
  return { s: { name, counts, crypto, sqlite, roundMs, cryptoMs: 1000 / crypto.reference.median, sqliteMs: 1000 / sqlite.reference.median }, record };
}

export async function benchChannel(opts: RunOptions & { progress?: (s: string) => void }): Promise<ChannelBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-channel-'));
  let pair: Pair | undefined;
  try {
    opts.progress?.('channel: opening A ↔ B over loopback …');
    pair = await openPair(dir);
    const rounds = new Rounds(pair);
    const o = { ...opts, batchMs: opts.batchMs * BATCH_FACTOR };
    const htlc = await scenario('HTLC', pair, () => rounds.htlc(), dir, 'htlc', o);
    const fee = await scenario('update_fee', pair, () => rounds.fee(), dir, 'fee', o);
    opts.progress?.('channel: unit costs …');
    const unitUs = await measureUnits(pair, dir, htlc.record, opts.rounds);
    return { format: FORMAT, htlcMsat: Number(HTLC_MSAT), htlc: htlc.s, fee: fee.s, unitUs, totalRounds: rounds.totals, batchFactor: BATCH_FACTOR };
  } finally {
    await pair?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Output

export function printChannel(r: ChannelBenchResult): string[] {
  const out: string[] = [];
  const noisy = (iqr: number): string => (iqr > 20 ? ' (noisy)' : '');
  out.push(`## Channel: commitment update round trips on one channel, anode ↔ anode (loopback TCP + BOLT 8, both nodes in this process;`);
  out.push(`##    each side persists to its own SQLite file, WAL + synchronous=FULL; ${r.format}; references timed interleaved in the same run)`);
  out.push('');
  out.push(
    table(
      ['round', 'round trips/s', 'IQR', 'ms each', 'raw sign+verify bound/s', 'ms each', 'ratio', 'ratio IQR', 'SQLite commits bound/s', 'ms each', 'ratio', 'ratio IQR'],
      [r.htlc, r.fee].map((s) => {
        const rates = [...s.crypto.candidate.rates, ...s.sqlite.candidate.rates];
        return [
          s.name === 'HTLC' ? 'HTLC: add → committed → fulfill → committed' : 'update_fee → committed',
          fmtInt(1000 / s.roundMs),
          fmtPct(iqrPct(rates)) + noisy(iqrPct(rates)),
          fmt(s.roundMs),
          fmtInt(s.crypto.reference.median),
          fmt(s.cryptoMs),
          fmt(s.crypto.ratio),
          fmtPct(s.crypto.ratioIqrPct) + noisy(s.crypto.ratioIqrPct),
          fmtInt(s.sqlite.reference.median),
          fmt(s.sqliteMs),
          fmt(s.sqlite.ratio),
          fmtPct(s.sqlite.ratioIqrPct) + noisy(s.sqlite.ratioIqrPct),
        ];
      }),
    ),
  );
  out.push(
    `(round trips/s: median over both comparisons' rounds; ratios: median of per-round ratios. Batches ${r.batchFactor} × --batch-ms: ` +
      `${r.htlc.crypto.candidate.batch} HTLC rounds, ${r.fee.crypto.candidate.batch} fee rounds per timed batch)`,
  );
  out.push('');
  out.push('per round, both sides together (counted on the wire, in the store callbacks and on the key object during 4 sample rounds):');
  out.push(
    table(
      ['round', 'commitment_signed', 'revoke_and_ack', 'commitment sigs + verifies', 'HTLC sigs + verifies', 'per-commitment points', 'commitments built', 'saves', 'revocations', 'messages', 'wire bytes', 'state doc bytes'],
      [r.htlc, r.fee].map((s) => {
        const c = s.counts;
        return [s.name, String(c.commitmentSigned), String(c.revokeAndAck), `${c.commitmentSigs} + ${c.commitmentSigs}`, `${c.htlcSigs} + ${c.htlcSigs}`, String(c.points), String(c.commitmentBuilds), String(c.saves), String(c.revocations), String(c.messages), fmtInt(c.bytes), fmtInt(c.docBytes)];
      }),
    ),
  );
  out.push('');
  const u = r.unitUs;
  out.push(
    `unit costs, this run (µs): commitment sign ${fmt(u.commitmentSign, 0)}, verify ${fmt(u.commitmentVerify, 0)}; HTLC sign ${fmt(u.htlcSign, 0)}, verify ${fmt(u.htlcVerify, 0)}; ` +
      `per-commitment point ${fmt(u.point, 0)}; commitment build ${fmt(u.commitmentBuild, 0)} (with an HTLC ${fmt(u.commitmentBuildWithHtlc, 0)}); channelData.save ${fmt(u.save, 0)}; addRevocation ${fmt(u.revocation, 0)}`,
  );
  out.push('');
  out.push('budget per round, ms:');
  out.push(
    table(
      ['round', 'round', 'raw crypto', 'SQLite', 'commitment builds*', 'rest**', 'crypto share'],
      [r.htlc, r.fee].map((s) => {
        const c = s.counts;
        // Unit costs were timed at another moment than the interleaved references: scale the builds by
        // this round's raw crypto (same EC backend) as timed interleaved over as timed from the units.
        const cryptoUnits = c.commitmentSigs * (u.commitmentSign + u.commitmentVerify) + c.htlcSigs * (u.htlcSign + u.htlcVerify) + c.points * u.point;
        const buildUnits = (c.commitmentBuilds - c.commitmentBuildsWithHtlc) * u.commitmentBuild + c.commitmentBuildsWithHtlc * u.commitmentBuildWithHtlc;
        const builds = (s.cryptoMs * buildUnits) / cryptoUnits;
        return [s.name, fmt(s.roundMs), fmt(s.cryptoMs), fmt(s.sqliteMs), fmt(builds), fmt(s.roundMs - s.cryptoMs - s.sqliteMs - builds), fmtPct((s.cryptoMs / s.roundMs) * 100)];
      }),
    ),
  );
  out.push('*  EC work outside the bound: commitment keys (revocation pubkey + 3 derived pubkeys, with point checks), outputs, txid,');
  out.push('   HTLC transactions; unit cost × count, scaled by (raw crypto timed interleaved ÷ raw crypto from the unit costs)');
  out.push('** BOLT 8 encryption, loopback TCP, codec, JSON encoding of the state, HTLC private key derivation, update-log bookkeeping, event-loop hops,');
  out.push('   and whatever the same SQLite writes cost inside the round beyond their replay (CPU caches shared with the EC work)');
  out.push(`rounds run in all: ${fmtInt(r.totalRounds.htlc)} HTLC (${fmtInt(r.htlcMsat / 1000)} sat, directions alternating), ${fmtInt(r.totalRounds.fee)} update_fee`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const get = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const r = await benchChannel({
    rounds: Number(get('--rounds') ?? 9),
    batchMs: Number(get('--batch-ms') ?? 100),
    warmupMs: 300,
    progress: (s) => process.stderr.write(`[bench] ${s}\n`),
  });
  process.stdout.write(printChannel(r).join('\n') + '\n');
}
