/**
 * A real breach: X's data directory is copied while an HTLC is in flight, the channel moves on, then X
 * is restored from the old copy and publishes the revoked commitment. Y sweeps every output of it
 * (to_local by revocation, the HTLC by revocation, its own to_remote) in btcd.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { parseTransaction } from '../../src/chain/block.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, tempDir, walletBalance, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { onlyChannel } from './nodes.js';

const btcd = useBtcd('channel breach');

const preimage = (n: number): Buffer => Buffer.alloc(32, n);
const hashOf = (p: Buffer): Buffer => createHash('sha256').update(p).digest();

describe('breach', { skip: btcd.skip, timeout: 180_000 }, () => {
  const running: TestNode[] = [];
  after(async () => {
    for (const n of running) await n.stop().catch(() => undefined);
  });

  /** Opens X → Y, commits an HTLC, copies X's directory, moves on, restores X: returns the cheater. */
  async function breachSetup(yExtra: string[] = [], beforeCheat?: (y: TestNode) => Promise<void>, afterStart?: (y: TestNode) => Promise<void>): Promise<{ y: TestNode; cheater: TestNode; revokedTxid: string }> {
    const x = await startNode(btcd.node);
    running.push(x);
    // Y holds the HTLC (dev-fulfillhtlc later) instead of failing back the all-zero onion.
    const y = await startNode(btcd.node, { extra: ['--developer', '--dev-hold-htlcs', ...yExtra] });
    running.push(y);
    await afterStart?.(y);
    await fundWallet(btcd.node, x, 2_000_000n);
    await x.node.peers.connect(Buffer.from(y.id, 'hex'), '127.0.0.1', y.port);
    const opened = await x.channels.fundChannel({ peerId: y.id, amountSat: 1_000_000n, pushMsat: 300_000_000n, feeratePerKw: 1000 });
    await until(() => y.channels.list().length === 1, { what: 'Y knows the channel', timeoutMs: 30_000 });
    await btcd.node.mineUntil(() => onlyChannel(x).data.state === 'CHANNELD_NORMAL' && onlyChannel(y).data.state === 'CHANNELD_NORMAL', 'NORMAL');
    // An HTLC X → Y in flight, committed on both sides.
    const received: bigint[] = [];
    onlyChannel(y).on('htlcReceived', (h) => received.push(h.id));
    await onlyChannel(x).addHtlc({ amountMsat: 50_000_000n, paymentHash: hashOf(preimage(7)), cltvExpiry: 2000 });
    await until(() => received.length === 1, { what: 'HTLC committed', timeoutMs: 30_000 });
    await onlyChannel(x).idle();
    await onlyChannel(y).idle();
    const revokedTxid = onlyChannel(x).data.localCommit.txid;

    // Copy X's state at this point.
    await x.stop();
    running.splice(running.indexOf(x), 1);
    const oldDir = tempDir('anode-old-');
    cpSync(x.dir, oldDir, { recursive: true });

    // X comes back, the channel moves on: the HTLC is fulfilled, X's old commitment is revoked.
    const x2 = await startNode(btcd.node, { dir: x.dir });
    running.push(x2);
    await until(() => onlyChannel(x2).usable && onlyChannel(y).usable, { what: 'reestablished', timeoutMs: 30_000 });
    await onlyChannel(y).fulfillHtlc(received[0]!, preimage(7));
    await until(() => onlyChannel(x2).data.localCommit.spec.htlcs.length === 0 && onlyChannel(y).data.localCommit.spec.htlcs.length === 0, { what: 'HTLC settled', timeoutMs: 30_000 });
    await onlyChannel(x2).idle();
    await onlyChannel(y).idle();
    assert.ok(onlyChannel(y).data.remoteCommit.index > 1n);
    await x2.stop();
    running.splice(running.indexOf(x2), 1);

    await beforeCheat?.(y);
    // The cheater: X restored from the old copy, never reconnecting.
    const cheater = await startNode(btcd.node, { dir: oldDir, extra: ['--dev-no-reconnect'] });
    running.push(cheater);
    return { y, cheater, revokedTxid };
  }

  it('the honest node sweeps every output of a revoked commitment', async () => {
    const { y, cheater, revokedTxid } = await breachSetup();
    const before = await walletBalance(y);
    const r = await cheater.channels.close(onlyChannel(cheater), 1);
    assert.equal(r.type, 'unilateral');
    assert.equal(r.txid, revokedTxid, 'the cheater published the revoked commitment');
    const breach = parseTransaction(Buffer.from(r.tx, 'hex'));
    assert.equal(breach.outputs.length, 3, 'to_local, to_remote and the HTLC');
    await btcd.node.mineUntil(() => onlyChannel(y).data.onchain?.kind === 'revoked' && (onlyChannel(y).data.onchain?.sweeps ?? []).some((s) => s.confirmedAt !== undefined), 'penalty confirmed', { maxBlocks: 6 });
    const penalty = parseTransaction(Buffer.from(onlyChannel(y).data.onchain!.sweeps[0]!.hex, 'hex'));
    assert.deepEqual(
      penalty.inputs.map((i) => `${i.txid}:${i.vout}`).sort(),
      breach.outputs.map((_, i) => `${revokedTxid}:${i}`).sort(),
      'the penalty spends every output of the revoked commitment',
    );
    const total = breach.outputs.reduce((s, o) => s + o.valueSat, 0n);
    await until(async () => (await walletBalance(y)) > before + total - 5_000n, { what: 'the whole channel is in Y’s wallet', timeoutMs: 30_000 });
  });

  it('with the honest node offline, its watchtower (anode tower) punishes the breach', async () => {
    const tower = await startNode(btcd.node, { extra: ['--watchtower.active', '--watchtower.listen=127.0.0.1:0'] });
    running.push(tower);
    const info = tower.node.tower!.server.info();
    const [host, port] = info.listeners[0]!.split(':') as [string, string];
    let sweepScript: Buffer | undefined;
    const { y, cheater, revokedTxid } = await breachSetup(['--wtclient.active'], async (y) => {
      const client = y.node.wtclient!.client;
      // Every revoked state reaches the tower before Y goes offline.
      await until(async () => (await client.stats()).numBackups >= Number(onlyChannel(y).data.remoteCommit.index), { what: 'backups acked by the tower', timeoutMs: 30_000 });
      sweepScript = onlyChannel(y).data.towerSweepScript;
      await y.stop();
      running.splice(running.indexOf(y), 1);
    }, async (y) => {
      await y.node.wtclient!.client.addTower(info.pubkey, { host, port: Number(port) });
    });
    void y;
    assert.ok(sweepScript, 'the channel has a sweep address for the tower');
    const r = await cheater.channels.close(onlyChannel(cheater), 1);
    assert.equal(r.txid, revokedTxid);
    // The tower's justice transaction pays Y's sweep address; btcd mines it.
    let justice: string | undefined;
    await btcd.node.mineUntil(async () => {
      for (const txid of await btcd.node.getRawMempool()) {
        const tx = parseTransaction(await btcd.node.getRawTransaction(txid));
        if (tx.inputs.some((i) => i.txid === revokedTxid) && tx.outputs.some((o) => Buffer.from(o.script).equals(sweepScript!))) justice = txid;
      }
      return justice !== undefined;
    }, 'the tower publishes the justice transaction', { maxBlocks: 6 });
    await btcd.node.generate(1);
    assert.equal(await btcd.node.getRawMempool().then((m) => m.includes(justice!)), false, 'the justice transaction is mined');
  });
});
