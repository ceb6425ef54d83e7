/**
 * Incoming HTLCs and HTLC deadlines between two whole anodes (SQLite, TCP, btcd regtest), driven through
 * the CLN JSON-RPC: B's intake fails back what it cannot settle or forward (dev-addhtlc with onions built
 * by createOnion for a route to B) and A attributes each failure to B with the expected code; A holds
 * incoming HTLCs (--dev-hold-htlcs) so dev-failhtlc sends a failure B decrypts, and an HTLC A never
 * resolves takes B on chain exactly at its cltv_expiry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { sha256 } from '../../src/crypto/hash.js';
import { attributeFailure } from '../../src/onion/failure-onion.js';
import { FailureCode } from '../../src/onion/failure.js';
import { encodeHopPayload, type HopPayload } from '../../src/onion/payload.js';
import { createOnion } from '../../src/onion/sphinx.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { onlyChannel } from '../channel/nodes.js';

const btcd = useBtcd('incoming HTLCs and deadlines between two anodes');

type Settled = { id: bigint; preimage?: Buffer; failure?: Buffer };

/** Every settlement of the HTLCs `ch` offered, by id. */
function settlements(ch: Channel): Map<bigint, Settled> {
  const m = new Map<bigint, Settled>();
  ch.on('htlcSettled', (s) => m.set(s.id, s));
  return m;
}

function onionTo(route: { nodeId: string; payload: Partial<HopPayload> }[], paymentHash: Buffer) {
  return createOnion({
    sessionKey: randomBytes(32),
    associatedData: paymentHash,
    hops: route.map((h) => ({ nodeId: Buffer.from(h.nodeId, 'hex'), payload: encodeHopPayload(h.payload) })),
  });
}

describe('incoming HTLCs and deadlines (two anodes, btcd)', { skip: btcd.skip, timeout: 180_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  let ca: Channel;
  let cb: Channel;
  const rpc = (n: TestNode, method: string, params: Record<string, unknown>) => rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), method, params);

  before(async () => {
    if (btcd.skip) return;
    // A holds incoming HTLCs for dev-failhtlc and the deadline; B decides its own with the intake.
    a = await startNode(btcd.node, { extra: ['--developer', '--dev-hold-htlcs'] });
    b = await startNode(btcd.node, { extra: ['--developer'] });
    await fundWallet(btcd.node, a, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, pushMsat: 300_000_000n, feeratePerKw: 1000 });
    await until(() => b.channels.list().length === 1, { what: 'B knows the channel', timeoutMs: 30_000 });
    await btcd.node.mineUntil(() => onlyChannel(a).data.state === 'CHANNELD_NORMAL' && onlyChannel(b).data.state === 'CHANNELD_NORMAL', 'both NORMAL');
    ca = onlyChannel(a);
    cb = onlyChannel(b);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('B fails back at once what it cannot settle or forward; A attributes each failure to B', async () => {
    const settled = settlements(ca);
    const height = b.channels.blockHeight;
    const expiry = height + 100;
    const amount = 20_000_000n;
    const final = { hash: sha256(randomBytes(32)) };
    const finalOnion = onionTo([{ nodeId: b.id, payload: { amtToForward: amount, outgoingCltvValue: expiry, paymentData: { paymentSecret: randomBytes(32), totalMsat: amount } } }], final.hash);
    const fwd = { hash: sha256(randomBytes(32)) };
    const fwdOnion = onionTo(
      [
        { nodeId: b.id, payload: { amtToForward: amount - 1000n, outgoingCltvValue: expiry - 40, shortChannelId: '700x1x0' } },
        { nodeId: a.id, payload: { amtToForward: amount - 1000n, outgoingCltvValue: expiry - 40 } },
      ],
      fwd.hash,
    );
    const add = async (hash: Buffer, onion?: Buffer): Promise<bigint> => {
      const r = await rpc(a, 'dev-addhtlc', { id: ca.id, amount_msat: Number(amount), payment_hash: hash.toString('hex'), cltv_expiry: expiry, ...(onion ? { onion: onion.toString('hex') } : {}) });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      return BigInt(r.result!.htlc_id as number);
    };
    const idFinal = await add(final.hash, finalOnion.packet);
    const idFwd = await add(fwd.hash, fwdOnion.packet);
    const idZero = await add(sha256(randomBytes(32)));
    await until(() => settled.size === 3, { what: 'A learns the three failures', timeoutMs: 30_000 });

    const fromB = attributeFailure(finalOnion.sharedSecrets, settled.get(idFinal)!.failure!);
    assert.equal(fromB.hopIndex, 0);
    assert.deepEqual(fromB.failure, { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: amount, height, extraTlvs: [] });
    const fwdFailure = attributeFailure(fwdOnion.sharedSecrets, settled.get(idFwd)!.failure!);
    assert.deepEqual([fwdFailure.hopIndex, fwdFailure.failure?.code], [0, FailureCode.UNKNOWN_NEXT_PEER]);
    // The all-zero onion came back as update_fail_malformed_htlc: no reason to decrypt.
    assert.equal(settled.get(idZero)!.failure!.length, 0);
    await ca.idle();
    await cb.idle();
    assert.deepEqual([ca.data.state, cb.data.state, ca.data.localCommit.spec.htlcs.length, cb.data.localCommit.spec.htlcs.length], ['CHANNELD_NORMAL', 'CHANNELD_NORMAL', 0, 0]);
  });

  it('A holds with --dev-hold-htlcs; dev-failhtlc sends a failure B decrypts and attributes to A', async () => {
    const settled = settlements(cb);
    const expiry = b.channels.blockHeight + 100;
    const hash = sha256(randomBytes(32));
    const o = onionTo([{ nodeId: a.id, payload: { amtToForward: 5_000_000n, outgoingCltvValue: expiry } }], hash);
    const held: bigint[] = [];
    ca.on('htlcReceived', (h) => held.push(h.id));
    const r = await rpc(b, 'dev-addhtlc', { id: cb.id, amount_msat: 5_000_000, payment_hash: hash.toString('hex'), cltv_expiry: expiry, onion: o.packet.toString('hex') });
    const id = BigInt(r.result!.htlc_id as number);
    await until(() => held.includes(id), { what: 'A has the HTLC committed', timeoutMs: 30_000 });
    await cb.idle();
    assert.equal(settled.size, 0, 'A held it');
    const failed = await rpc(a, 'dev-failhtlc', { id: ca.id, htlc_id: Number(id) });
    assert.deepEqual(failed.result, { failure: 'temporary_node_failure', malformed: false });
    await until(() => settled.has(id), { what: 'B learns the failure', timeoutMs: 30_000 });
    const seen = attributeFailure(o.sharedSecrets, settled.get(id)!.failure!);
    assert.deepEqual([seen.hopIndex, seen.failure], [0, { code: FailureCode.TEMPORARY_NODE_FAILURE, extraTlvs: [] }]);
  });

  it('an HTLC A never resolves takes B on chain at its cltv_expiry, not a block earlier', async () => {
    const start = await btcd.node.getBlockCount();
    const expiry = start + 3;
    const held: bigint[] = [];
    ca.on('htlcReceived', (h) => held.push(h.id));
    const r = await rpc(b, 'dev-addhtlc', { id: cb.id, amount_msat: 7_000_000, payment_hash: sha256(randomBytes(32)).toString('hex'), cltv_expiry: expiry });
    const id = BigInt(r.result!.htlc_id as number);
    await until(() => held.includes(id), { what: 'A has the HTLC committed', timeoutMs: 30_000 });
    await cb.idle();
    for (let h = start + 1; h < expiry; h++) {
      await btcd.node.generate(1);
      await until(() => b.channels.blockHeight === h, { what: `B at block ${h}`, timeoutMs: 30_000 });
      assert.equal(cb.data.state, 'CHANNELD_NORMAL', `still off chain at block ${h}`);
    }
    await btcd.node.generate(1);
    await until(() => cb.data.state === 'AWAITING_UNILATERAL', { what: 'B goes on chain at the expiry', timeoutMs: 30_000 });
    assert.equal(b.channels.blockHeight, expiry);
    assert.match(cb.data.failure ?? '', new RegExp(`^Offered HTLC ${id} cltv ${expiry} hit deadline`));
    const commitment = cb.data.localCommit.txid;
    await until(async () => (await btcd.node.getRawMempool()).includes(commitment), { what: "B's commitment in the mempool", timeoutMs: 30_000 });
  });
});
