/**
 * The sweeper over real Channel engines (test/channel/pair.ts) with a recording chain, shared by the
 * sweeper's tests: `sweeperOf` (every transaction checked written before it is published; `best`, the
 * backend's best height, when a test needs the node behind it), blocks applied as the manager applies
 * them, and a pair in which B publishes a revoked commitment holding an HTLC.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { parseTransaction, type BlockTransaction } from '../../../src/chain/block.js';
import type { ConnectedBlock } from '../../../src/chain/notifier.js';
import { ChannelRegistry } from '../../../src/channel/registry.js';
import { Sweeper, type SweeperContext } from '../../../src/channel/onchain/sweeper.js';
import { decodeChannelData, encodeRevocation, type ChannelData, type StoredRevocation } from '../../../src/channel/state.js';
import { KeyChain } from '../../../src/crypto/keychain.js';
import { until } from '../../harness/wait.js';
import { normalPair, PAIR_WAIT, type Pair, type Side } from '../pair.js';

export const DEST = Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.alloc(20, 0xcc)]);

/** The sweeper of side `s` (A's keys: seed 1, index 0), publishing into `published`; each publication checks it was written first. */
export function sweeperOf(s: Side, seed: number, opts: { estimate?: bigint; revoked?: StoredRevocation[]; fundFeeInputs?: SweeperContext['fundFeeInputs']; best?: () => number } = {}) {
  const registry = new ChannelRegistry(new KeyChain(Buffer.alloc(32, seed), 'regtest'));
  registry.add(s.channel);
  const published: string[] = [];
  const persisted = (): ChannelData => decodeChannelData(s.persisted);
  const sweeper = new Sweeper({
    chain: {
      sendRawTransaction: async (hex: string) => {
        const txid = parseTransaction(Buffer.from(hex, 'hex')).txid;
        // Every transaction is in the database before the backend sees it.
        const d = persisted();
        const written = [...(d.onchain?.sweeps ?? []).map((x) => x.txid), d.cpfp?.child.txid, d.localCommit.txid];
        assert.ok(written.includes(txid), `${txid} written before it is published`);
        published.push(txid);
        return txid;
      },
      ...(opts.best ? { getBlockCount: async () => opts.best!() } : {}),
    },
    registry,
    revocations: {
      findRevocation: async (txid: string) => {
        const r = (opts.revoked ?? []).find((x) => x.commit.txid === txid);
        return r && { channelId: '00', commitNum: Number(r.commit.index), data: encodeRevocation(r) };
      },
    },
    walletScript: async () => DEST,
    estimateFeerate: async () => opts.estimate ?? null,
    feeratePerKw: async () => 1000n,
    fundFeeInputs:
      opts.fundFeeInputs ??
      (async () => {
        throw new Error('no wallet here');
      }),
    log: pino({ level: 'silent' }),
    closed: () => undefined,
  });
  /** A block at `height` holding `txs`, applied as the manager does (scan, then each channel). */
  const mine = async (height: number, ...txs: BlockTransaction[]): Promise<void> => {
    const b = { height, hash: '00'.repeat(32), raw: new Uint8Array(), block: { header: {} as never, hash: '00'.repeat(32), transactions: txs } } as ConnectedBlock;
    await sweeper.scan(b);
    for (const ch of registry.all()) await sweeper.onBlock(ch, height);
  };
  return { sweeper, published, persisted, mine };
}

export const txOf = (hex: string): BlockTransaction => parseTransaction(Buffer.from(hex, 'hex'));
/** A NORMAL pair in which B will cheat: one HTLC offered by `offerer` in B's commitment (`cheat`; `old`: B's state then), failed since, so B revoked it. */
export async function revokedWithHtlc(offerer: 'a' | 'b', tag: number): Promise<{ p: Pair; cheat: { txid: string; hex: string }; old: ChannelData }> {
  const p = await normalPair();
  const [from, to] = offerer === 'a' ? [p.a, p.b] : [p.b, p.a];
  const received: bigint[] = [];
  to.channel.on('htlcReceived', (h) => received.push(h.id));
  await from.channel.addHtlc({ amountMsat: 50_000_000n, paymentHash: createHash('sha256').update(Buffer.alloc(32, tag)).digest(), cltvExpiry: 900 });
  await until(() => received.length === 1, { what: 'HTLC committed', ...PAIR_WAIT });
  await p.a.channel.idle();
  await p.b.channel.idle();
  const old = decodeChannelData(p.b.persisted);
  const cheat = p.b.channel.localCommitmentTx();
  await to.channel.failHtlc(received[0]!);
  await p.a.channel.idle();
  await p.b.channel.idle();
  assert.ok(p.a.revoked.some((r) => r.commit.txid === cheat.txid), 'B revoked the commitment it publishes');
  return { p, cheat, old };
}
