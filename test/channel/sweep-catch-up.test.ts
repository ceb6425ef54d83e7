/**
 * A node catching up on blocks does not pay its sweeps' budgets (issue 14's money-safety gaps): a
 * revoked commitment confirmed while the node was off is seen on an old block; no penalty is built or
 * bumped on the blocks behind the backend's best one, so its fee function starts at the tip — at the
 * backend's estimate — instead of climbing toward half the value swept with each old block replayed.
 * Two real Channel engines; the sweeper on a backend whose best height is set by the test.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { describe, it } from 'node:test';
import { parseTransaction, type BlockTransaction } from '../../src/chain/block.js';
import type { ConnectedBlock } from '../../src/chain/notifier.js';
import { feerateAt } from '../../src/channel/onchain/fees.js';
import { Sweeper } from '../../src/channel/onchain/sweeper.js';
import { ChannelRegistry } from '../../src/channel/registry.js';
import { decodeChannelData, encodeRevocation } from '../../src/channel/state.js';
import { KeyChain } from '../../src/crypto/keychain.js';
import { until } from '../harness/wait.js';
import { normalPair, PAIR_WAIT } from './pair.js';

const H = 700;
const ESTIMATE = 1000n;

describe('sweeps while the node catches up', () => {
  it('a penalty seen on an old block is first built at the tip, at the estimate; its fee function counts from there', async () => {
    // B cheats: its commitment holding an HTLC, revoked since.
    const p = await normalPair();
    const received: bigint[] = [];
    p.a.channel.on('htlcReceived', (h) => received.push(h.id));
    await p.b.channel.addHtlc({ amountMsat: 50_000_000n, paymentHash: createHash('sha256').update('catch-up').digest(), cltvExpiry: 900 });
    await until(() => received.length === 1, { what: 'HTLC committed', ...PAIR_WAIT });
    await p.a.channel.idle();
    await p.b.channel.idle();
    const cheat = p.b.channel.localCommitmentTx();
    await p.a.channel.failHtlc(received[0]!);
    await p.a.channel.idle();
    await p.b.channel.idle();

    let best = H + 3;
    const published: string[] = [];
    const registry = new ChannelRegistry(new KeyChain(Buffer.alloc(32, 1), 'regtest'));
    registry.add(p.a.channel);
    const sweeper = new Sweeper({
      chain: {
        sendRawTransaction: async (hex: string) => {
          const txid = parseTransaction(Buffer.from(hex, 'hex')).txid;
          published.push(txid);
          return txid;
        },
        getBlockCount: async () => best,
      },
      registry,
      revocations: {
        findRevocation: async (txid: string) => {
          const r = p.a.revoked.find((x) => x.commit.txid === txid);
          return r && { channelId: '00', commitNum: Number(r.commit.index), data: encodeRevocation(r) };
        },
      },
      walletScript: async () => Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.alloc(20, 0xcc)]),
      estimateFeerate: async () => ESTIMATE,
      feeratePerKw: async () => ESTIMATE,
      fundFeeInputs: async () => {
        throw new Error('no wallet here');
      },
      log: pino({ level: 'silent' }),
      closed: () => undefined,
    });
    const mine = async (height: number, ...txs: BlockTransaction[]): Promise<void> => {
      const b = { height, hash: '00'.repeat(32), raw: new Uint8Array(), block: { header: {} as never, hash: '00'.repeat(32), transactions: txs } } as ConnectedBlock;
      await sweeper.scan(b);
      for (const ch of registry.all()) await sweeper.onBlock(ch, height);
    };
    const oc = () => decodeChannelData(p.a.persisted).onchain!;

    // The commitment at H, seen while the backend is at H + 3: planned and written, nothing built.
    await mine(H, parseTransaction(Buffer.from(cheat.hex, 'hex')));
    assert.equal(oc().kind, 'revoked');
    const deadline = oc().outputs!.find((o) => o.deadline !== undefined)!.deadline!;
    assert.ok(deadline > best + 1, `the penalty's deadline ${deadline} is still ahead of the tip`);
    await mine(H + 1);
    await mine(H + 2);
    assert.deepEqual([oc().sweeps.length, published.length], [0, 0], 'no sweep built or published on the blocks behind the tip');

    // At the tip: the penalty at the estimate, its fee function from the tip to the deadline.
    await mine(H + 3);
    const [penalty, ...more] = oc().sweeps;
    assert.equal(more.length, 0);
    assert.equal(penalty!.feeratePerKw, ESTIMATE);
    assert.deepEqual([penalty!.fee?.from, penalty!.fee?.deadline], [H + 3, deadline]);
    assert.deepEqual(published, [penalty!.txid]);
    // One block later (at the tip again): the function's first step, not a jump to its budget.
    best = H + 4;
    await mine(H + 4);
    const bumped = oc().sweeps.at(-1)!;
    assert.equal(bumped.feeratePerKw, feerateAt(penalty!.fee!, H + 4));
    assert.ok(bumped.feeratePerKw! < penalty!.fee!.maxPerKw, 'below the budget before the block ahead of the deadline');
  });
});
