/**
 * Two Channel engines wired to each other in memory (messages go through the real codec), for unit
 * tests of the BOLT 2 state machine. Each side's persisted state is kept as the JSON the store would
 * hold, so a test can "restart" a side from what it last persisted.
 */
import pino from 'pino';
import { KeyChain } from '../../src/crypto/keychain.js';
import { Channel, type ChannelEnv, type RevokedCommitment } from '../../src/channel/channel.js';
import { signRemoteCommitment, checkLocalCommitment } from '../../src/channel/commitments.js';
import { ChannelMessageType, decodeChannelMessage, encodeChannelMessage, type ChannelMessage } from '../../src/channel/messages.js';
import { DEFAULT_CHANNEL_CONFIG, initialChannelData, localParams } from '../../src/channel/open.js';
import { ChannelKeys } from '../../src/channel/signer.js';
import { decodeChannelData, encodeChannelData, type ChannelData } from '../../src/channel/state.js';
import type { CommitmentFormat } from '../../src/channel/commitment.js';
import { until } from '../harness/wait.js';

export interface Side {
  name: 'A' | 'B';
  keys: ChannelKeys;
  channel: Channel;
  persisted: string;
  revoked: RevokedCommitment[];
  failures: string[];
  /** The commitments handed over for publication when the channel failed. */
  published: { txid: string; hex: string }[];
  closings: { txid: string; hex: string }[];
  /** Every message this side sent, by type. */
  sent: number[];
  /** Messages to this side are held (not delivered) while true. */
  hold: boolean;
  held: Buffer[];
  /** Warnings this side sent to the peer. */
  warnings: string[];
  /** Starts holding (sets `hold`) when a message of a type it returns true for is sent to this side. */
  holdWhen?: (type: number) => boolean;
}

export interface Pair {
  a: Side;
  b: Side;
  /** Rebuilds a side's Channel from its last persisted state (a restart). */
  restart(side: Side): Channel;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  deliverHeld(side: Side): Promise<void>;
}

const log = pino({ level: process.env.ANODE_TEST_LOG ?? 'silent' });
const SCRIPT_A = Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.alloc(20, 0xaa)]);
const SCRIPT_B = Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.alloc(20, 0xbb)]);

export function makePair(opts: { format?: CommitmentFormat; fundingSat?: bigint; pushMsat?: bigint; feeratePerKw?: bigint; closingFeerate?: { A?: bigint; B?: bigint }; simpleClose?: { A: boolean; B: boolean } } = {}): Pair {
  const format = opts.format ?? 'static_remotekey';
  const fundingSat = opts.fundingSat ?? 1_000_000n;
  const pushMsat = opts.pushMsat ?? 100_000_000n;
  const feeratePerKw = opts.feeratePerKw ?? 1000n;
  const keysA = new ChannelKeys(new KeyChain(Buffer.alloc(32, 1), 'regtest'), 0);
  const keysB = new ChannelKeys(new KeyChain(Buffer.alloc(32, 2), 'regtest'), 7);
  const cfg = { ...DEFAULT_CHANNEL_CONFIG, toSelfDelay: 6 };
  const pA = localParams(keysA, cfg, fundingSat);
  const pB = localParams(keysB, cfg, fundingSat);
  const channelId = Buffer.alloc(32, 0x42);
  const funding = { txid: '11'.repeat(32), vout: 0 };
  const common = { temporaryChannelId: Buffer.alloc(32, 9), channelId, format, fundingSat, pushMsat, feeratePerKw, funding, minimumDepth: 1, announce: false };
  const dA = initialChannelData({ ...common, peerId: 'B', opener: 'local', keyIndex: 0, local: pA, remote: pB, remoteFirstPoint: keysB.point(0n) });
  const dB = initialChannelData({ ...common, peerId: 'A', opener: 'remote', keyIndex: 7, local: pB, remote: pA, remoteFirstPoint: keysA.point(0n) });
  // funding_created / funding_signed
  const sigForB = signRemoteCommitment(dA, keysA, 0n, dA.remoteCommit.point, dA.remoteCommit.spec);
  const sigForA = signRemoteCommitment(dB, keysB, 0n, dB.remoteCommit.point, dB.remoteCommit.spec);
  for (const [d, keys, sig, remoteTxid] of [
    [dA, keysA, sigForA, sigForB.txid],
    [dB, keysB, sigForB, sigForA.txid],
  ] as const) {
    const c = checkLocalCommitment(d, keys, 0n, d.localCommit.spec, sig.sig, []);
    if ('error' in c) throw new Error(c.error);
    d.localCommit = { ...d.localCommit, txid: c.txid, remoteSig: sig.sig };
    d.remoteCommit.txid = remoteTxid;
  }
  const sides: Record<'A' | 'B', Side> = {
    A: { name: 'A', keys: keysA, channel: undefined as unknown as Channel, persisted: encodeChannelData(dA), revoked: [], failures: [], published: [], closings: [], sent: [], hold: false, held: [], warnings: [] },
    B: { name: 'B', keys: keysB, channel: undefined as unknown as Channel, persisted: encodeChannelData(dB), revoked: [], failures: [], published: [], closings: [], sent: [], hold: false, held: [], warnings: [] },
  };
  let linked = false;
  /** Counts disconnections: a message still in flight when its connection dropped is lost. */
  let connection = 0;
  const other = (s: Side): Side => (s.name === 'A' ? sides.B : sides.A);
  const deliver = async (to: Side, bytes: Buffer): Promise<void> => {
    const msg = decodeChannelMessage(bytes.readUInt16BE(0), bytes.subarray(2));
    await to.channel.handle(msg);
  };
  const env = (s: Side): ChannelEnv => ({
    keys: s.keys,
    log,
    send(msg: ChannelMessage): boolean {
      if (!linked) return false;
      s.sent.push(msg.type);
      const bytes = encodeChannelMessage(msg);
      const to = other(s);
      if (to.holdWhen?.(msg.type)) to.hold = true;
      if (to.hold) {
        to.held.push(bytes);
        return true;
      }
      // Delivered asynchronously, in order, like a socket; lost when the connection drops first.
      const conn = connection;
      setImmediate(() => {
        if (conn !== connection) return;
        deliver(to, bytes).catch((e: unknown) => to.failures.push(`delivery: ${(e as Error).message}`));
      });
      return true;
    },
    async persist(d: ChannelData) {
      s.persisted = encodeChannelData(d);
    },
    async revoked(r) {
      s.revoked.push(r);
    },
    async shutdownScript() {
      return s.name === 'A' ? SCRIPT_A : SCRIPT_B;
    },
    async closingFeerate() {
      return opts.closingFeerate?.[s.name] ?? 1000n;
    },
    async feerateRange() {
      return { min: 253n, max: 10_000n };
    },
    async fail(reason, how) {
      s.failures.push(reason);
      if (how.commitment) s.published.push(how.commitment);
    },
    async publishClosing(txid: string, hex: string) {
      s.closings.push({ txid, hex });
    },
    // option_simple_close when both sides offer it (as the peer's init would say).
    simpleClose: () => !!opts.simpleClose?.A && !!opts.simpleClose.B,
    warn: (text) => s.warnings.push(text),
    blockHeight: () => 100,
  });
  const build = (s: Side): Channel => {
    s.channel = new Channel(decodeChannelData(s.persisted), env(s));
    return s.channel;
  };
  build(sides.A);
  build(sides.B);
  return {
    a: sides.A,
    b: sides.B,
    restart: build,
    async connect() {
      linked = true;
      await Promise.all([sides.A.channel.connect(), sides.B.channel.connect()]);
    },
    async disconnect() {
      linked = false;
      connection++;
      await Promise.all([sides.A.channel.disconnect(), sides.B.channel.disconnect()]);
    },
    async deliverHeld(s: Side) {
      s.hold = false;
      const msgs = s.held.splice(0);
      for (const m of msgs) await deliver(s, m);
    },
  };
}

/** A connected pair whose channel is NORMAL on both sides (funding locked at 100x1x0). */
export async function normalPair(opts: Parameters<typeof makePair>[0] = {}): Promise<Pair> {
  const p = makePair(opts);
  await p.connect();
  await p.a.channel.fundingLocked('100x1x0');
  await p.b.channel.fundingLocked('100x1x0');
  await until(() => p.a.channel.data.state === 'CHANNELD_NORMAL' && p.b.channel.data.state === 'CHANNELD_NORMAL', { what: 'both NORMAL', ...PAIR_WAIT });
  return p;
}

/** A NORMAL pair with HTLC `h` offered by A, irrevocably committed (B announced it) and A idle. */
export async function pairWithHtlc(h: { amountMsat: bigint; paymentHash: Buffer; cltvExpiry: number }): Promise<{ p: Pair; id: bigint }> {
  const p = await normalPair();
  const received: bigint[] = [];
  p.b.channel.on('htlcReceived', (x) => received.push(x.id));
  const id = await p.a.channel.addHtlc(h);
  await until(() => received.includes(id), { what: 'B has the HTLC committed', ...PAIR_WAIT });
  await p.a.channel.idle();
  return { p, id };
}

/** How tests of a pair wait with `until`: messages flow in memory within milliseconds, so check often and give up after 5 s. */
export const PAIR_WAIT = { timeoutMs: 5_000, intervalMs: 2 } as const;

/**
 * A cooperative close started by `initiator` on a fresh NORMAL pair, the connection dropped once
 * `receiverOf(pair)` is about to get a message of `type` (it and all after it are lost), then reconnected.
 */
export async function closeInterrupted(initiator: 'A' | 'B', receiverOf: (p: Pair) => Side, type: number, opts: Parameters<typeof makePair>[0] = {}): Promise<Pair> {
  const p = await normalPair(opts);
  const receiver = receiverOf(p);
  receiver.holdWhen = (t) => t === type;
  await (initiator === 'A' ? p.a : p.b).channel.shutdown();
  await until(() => receiver.held.length > 0, { what: 'the message is in flight', ...PAIR_WAIT });
  await p.disconnect();
  for (const s of [p.a, p.b]) {
    s.holdWhen = undefined;
    s.hold = false;
    s.held.length = 0;
  }
  await p.connect();
  return p;
}

/** A lost message of a close: what is lost, who would have received it, its type. */
export type LossCase = [string, (p: Pair) => Side, number];

/** The close's shutdown lost either way, when `initiator` starts the close. */
export function shutdownLosses(initiator: 'A' | 'B'): LossCase[] {
  const init = (p: Pair): Side => (initiator === 'A' ? p.a : p.b);
  const resp = (p: Pair): Side => (initiator === 'A' ? p.b : p.a);
  return [
    ["the initiator's shutdown lost", resp, ChannelMessageType.SHUTDOWN],
    ['the reply shutdown lost', init, ChannelMessageType.SHUTDOWN],
  ];
}
