/**
 * Route blinding between three whole anodes (SQLite, TCP, btcd regtest): C builds a blinded path to
 * itself through B (`dev-blindedpath`, B's policy from C's graph) for one of its invoices; A, which sees
 * only B's real id, pays it with an onion whose second hop is C's blinded id. B is the introduction
 * node (relays at `payment_relay`, hands C the next `path_key` in `update_add_htlc`), C the final node
 * (the `path_id` is the invoice's payment secret). Every failure inside the path reaches A as B's
 * `invalid_onion_blinding` — whether B refused (a constraint) or C did (a short amount, a path built for
 * another invoice, which C answers with `update_fail_malformed_htlc`) — and carries no channel_update.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { sha256 } from '../../src/crypto/hash.js';
import { scidFromString } from '../../src/gossip/messages.js';
import { attributeFailure } from '../../src/onion/failure-onion.js';
import { FailureCode } from '../../src/onion/failure.js';
import { encodeHopPayload } from '../../src/onion/payload.js';
import { createOnion } from '../../src/onion/sphinx.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';

const btcd = useBtcd('blinded payments between three anodes');

type Json = Record<string, any>;
type Settled = { id: bigint; preimage?: Buffer; failure?: Buffer; malformed?: { failureCode: number } };

describe('route blinding: A pays C through a blinded path whose introduction node is B (three anodes, btcd)', { skip: btcd.skip, timeout: 240_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;
  let ab: Channel;
  let bc: Channel;
  const settled = new Map<bigint, Settled>();
  /** How C answered each HTLC B offered it. */
  const atB = new Map<bigint, Settled>();
  const call = async (n: TestNode, method: string, params: Json): Promise<Json> => {
    const r = (await rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), method, params)) as { result?: Json; error?: Json };
    if (r.error) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
    return r.result!;
  };

  before(async () => {
    if (btcd.skip) return;
    [a, b, c] = [await startNode(btcd.node), await startNode(btcd.node), await startNode(btcd.node, { extra: ['--developer'] })];
    await fundWallet(btcd.node, a, 2_000_000n);
    await fundWallet(btcd.node, b, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    await b.node.peers.connect(Buffer.from(c.id, 'hex'), '127.0.0.1', c.port);
    await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, feeratePerKw: 1000 });
    await b.channels.fundChannel({ peerId: c.id, amountSat: 1_000_000n, feeratePerKw: 1000 });
    await until(() => b.channels.list().length === 2 && c.channels.list().length === 1, { what: 'both channels known', timeoutMs: 30_000 });
    ab = a.channels.list()[0]!;
    bc = b.channels.list().find((ch) => ch.data.peerId === c.id)!;
    const bcAtC = c.channels.list()[0]!;
    // C learns B's channel_update for B→C (BOLT 7: sent to the peer even before the channel is announced).
    const direction = Buffer.compare(Buffer.from(b.id, 'hex'), Buffer.from(c.id, 'hex')) < 0 ? 0 : 1;
    const cKnowsB = (): boolean => {
      const scid = bcAtC.data.shortChannelId === undefined ? undefined : scidFromString(bcAtC.data.shortChannelId);
      const row = scid === undefined ? undefined : c.node.gossip?.graph.row(scid);
      return row !== undefined && c.node.gossip!.graph.policy(row, direction) !== undefined;
    };
    await btcd.node.mineUntil(() => ab.usable && bc.usable && bcAtC.usable && cKnowsB(), 'channels usable and C has B’s update', { maxBlocks: 8, settleMs: 500 });
    ab.on('htlcSettled', (s) => settled.set(s.id, s));
    bc.on('htlcSettled', (s) => atB.set(s.id, s));
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await c?.stop();
  });

  /** A new invoice of C and a blinded path to C through B for it. */
  async function invoiceAndPath(amountMsat: bigint): Promise<{ hash: Buffer; path: Json }> {
    const inv = await call(c, 'invoice', { amount_msat: Number(amountMsat), label: `blinded-${randomBytes(4).toString('hex')}`, description: 'blinded' });
    const hash = Buffer.from(inv.payment_hash as string, 'hex');
    return { hash, path: await call(c, 'dev-blindedpath', { payment_hash: inv.payment_hash, peer: b.id }) };
  }

  /**
   * A sends `paid` msat to B with an onion through the path: B's payload opens the path, C's (blinded)
   * asks for `amountMsat` at `finalCltv`. Resolves with the outcome of A's HTLC and the onion's secrets.
   */
  async function pay(path: Json, hash: Buffer, o: { amountMsat: bigint; paid: bigint; finalCltv: number; incomingCltv: number; inside?: boolean }) {
    const hop = (i: number): Buffer => Buffer.from(path.path[i].encrypted_recipient_data, 'hex');
    const pathKey = Buffer.from(path.first_path_key, 'hex');
    // inside: A plays a blinded hop before B, so B gets the path key in update_add_htlc and is addressed by its blinded id.
    const first = o.inside
      ? { nodeId: Buffer.from(path.path[0].blinded_node_id, 'hex'), payload: encodeHopPayload({ encryptedRecipientData: hop(0) }) }
      : { nodeId: Buffer.from(b.id, 'hex'), payload: encodeHopPayload({ encryptedRecipientData: hop(0), currentPathKey: pathKey }) };
    const { packet, sharedSecrets } = createOnion({
      sessionKey: randomBytes(32),
      associatedData: hash,
      hops: [
        first,
        { nodeId: Buffer.from(path.path[1].blinded_node_id, 'hex'), payload: encodeHopPayload({ amtToForward: o.amountMsat, outgoingCltvValue: o.finalCltv, totalAmountMsat: o.amountMsat, encryptedRecipientData: hop(1) }) },
      ],
    });
    const id = await ab.addHtlc({ amountMsat: o.paid, paymentHash: hash, cltvExpiry: o.incomingCltv, onion: packet, ...(o.inside ? { pathKey } : {}) });
    const outcome = await until(() => settled.get(id), { what: `A's HTLC ${id} resolved`, timeoutMs: 30_000 });
    return { outcome, sharedSecrets, packet };
  }

  /** What A pays B for C to receive `amountMsat` through the path (fee rounded up, as BOLT 4's relay formula needs). */
  const withFee = (path: Json, amountMsat: bigint): bigint => amountMsat + BigInt(path.payinfo.fee_base_msat) + (amountMsat * BigInt(path.payinfo.fee_proportional_millionths) + 999_999n) / 1_000_000n;

  /** C's answer to the last HTLC B offered it: update_fail_malformed_htlc with invalid_onion_blinding. */
  function assertMalformedFromC(): void {
    const last = atB.get(bc.data.localNextHtlcId - 1n);
    assert.equal(last?.malformed?.failureCode, FailureCode.INVALID_ONION_BLINDING, 'C answered B with update_fail_malformed_htlc');
  }

  /** A's failure is B's invalid_onion_blinding with the sha256 of A's onion, and nothing else. */
  function assertBlindedFailure(r: Awaited<ReturnType<typeof pay>>): void {
    assert.ok(r.outcome.failure && !r.outcome.preimage, 'failed');
    assert.equal(r.outcome.malformed, undefined, 'B (the introduction node) sends update_fail_htlc');
    const f = attributeFailure(r.sharedSecrets, r.outcome.failure!);
    assert.equal(f.hopIndex, 0, 'attributed to B');
    assert.deepEqual(f.failure, { code: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion: sha256(r.packet), extraTlvs: [] });
  }

  it('C receives through the path: paid, B kept its relay fee and delta, the path gave A no real id but B’s', async () => {
    const amount = 20_000_000n;
    const { hash, path } = await invoiceAndPath(amount);
    assert.equal(path.introduction_node_id, b.id);
    assert.notEqual(path.path[1].blinded_node_id, c.id, 'C is blinded');
    const policy = c.node.gossip!.graph.policy(c.node.gossip!.graph.row(scidFromString(bc.data.shortChannelId!)!)!, Buffer.compare(Buffer.from(b.id, 'hex'), Buffer.from(c.id, 'hex')) < 0 ? 0 : 1)!;
    assert.deepEqual([path.payinfo.fee_base_msat, path.payinfo.fee_proportional_millionths, path.payinfo.cltv_expiry_delta], [policy.feeBaseMsat, policy.feeProportionalMillionths, policy.cltvExpiryDelta], 'B’s policy from the graph');
    const h = c.channels.blockHeight;
    const finalCltv = h + path.min_final_cltv_expiry + 10;
    const seen: { out?: { amountMsat: bigint; cltvExpiry: number; pathKey?: Buffer } } = {};
    const offer = bc.addHtlc.bind(bc);
    bc.addHtlc = (x) => ((seen.out = x), offer(x));
    const r = await pay(path, hash, { amountMsat: amount, paid: withFee(path, amount), finalCltv, incomingCltv: finalCltv + path.payinfo.cltv_expiry_delta });
    bc.addHtlc = offer;
    assert.ok(r.outcome.preimage, `paid (${JSON.stringify(r.outcome.malformed)})`);
    assert.ok(sha256(r.outcome.preimage).equals(hash));
    assert.ok(seen.out?.pathKey, 'B’s add to C carried the next path_key');
    assert.equal(seen.out.cltvExpiry, finalCltv, 'B took exactly its cltv_expiry_delta');
    assert.ok(seen.out.amountMsat >= amount);
    const inv = (await call(c, 'listinvoices', { payment_hash: hash.toString('hex') })).invoices[0];
    assert.equal(inv.status, 'paid');
    const fwd = (await call(b, 'listforwards', { status: 'settled' })).forwards.at(-1);
    assert.equal(BigInt(fwd.in_msat) - BigInt(fwd.out_msat), withFee(path, amount) - seen.out.amountMsat);
  });

  it('an amount short of the path’s fee: C refuses (malformed, to B), A gets B’s invalid_onion_blinding; the invoice stays unpaid', async () => {
    const amount = 5_000_000n;
    const { hash, path } = await invoiceAndPath(amount);
    const finalCltv = c.channels.blockHeight + path.min_final_cltv_expiry + 10;
    const r = await pay(path, hash, { amountMsat: amount, paid: withFee(path, amount) - 2n, finalCltv, incomingCltv: finalCltv + path.payinfo.cltv_expiry_delta });
    assertBlindedFailure(r);
    assertMalformedFromC();
    assert.equal((await call(c, 'listinvoices', { payment_hash: hash.toString('hex') })).invoices[0].status, 'unpaid');
    assert.equal((await call(b, 'listforwards', { status: 'failed' })).forwards.length, 1, 'B forwarded it and C failed it');
  });

  it('a path built for one invoice does not pay another: C refuses, A gets invalid_onion_blinding from B', async () => {
    const amount = 3_000_000n;
    const first = await invoiceAndPath(amount);
    const second = await invoiceAndPath(amount);
    const finalCltv = c.channels.blockHeight + first.path.min_final_cltv_expiry + 10;
    const r = await pay(first.path, second.hash, { amountMsat: amount, paid: withFee(first.path, amount), finalCltv, incomingCltv: finalCltv + first.path.payinfo.cltv_expiry_delta });
    assertBlindedFailure(r);
    assertMalformedFromC();
    for (const { hash } of [first, second]) assert.equal((await call(c, 'listinvoices', { payment_hash: hash.toString('hex') })).invoices[0].status, 'unpaid');
  });

  it('an expiry past B’s max_cltv_expiry: B refuses before its switch, as invalid_onion_blinding without a channel_update', async () => {
    const amount = 4_000_000n;
    const { hash, path } = await invoiceAndPath(amount);
    const finalCltv = c.channels.blockHeight + path.min_final_cltv_expiry + 10;
    // The path lives for the invoice's lifetime plus the farthest expiry a forward may carry (2016 blocks): far past both.
    const maxAtB = finalCltv + 100_000;
    const r = await pay(path, hash, { amountMsat: amount, paid: withFee(path, amount), finalCltv, incomingCltv: maxAtB });
    assertBlindedFailure(r);
    const local = (await call(b, 'listforwards', { status: 'local_failed' })).forwards;
    assert.equal(local.length, 0, 'refused before the switch (payment_constraints), not as a forward');
  });

  describe('B inside the path (the path key comes in update_add_htlc)', () => {
    it('B relays with the next path key and C is paid', async () => {
      const amount = 6_000_000n;
      const { hash, path } = await invoiceAndPath(amount);
      const finalCltv = c.channels.blockHeight + path.min_final_cltv_expiry + 10;
      const r = await pay(path, hash, { amountMsat: amount, paid: withFee(path, amount), finalCltv, incomingCltv: finalCltv + path.payinfo.cltv_expiry_delta, inside: true });
      assert.ok(r.outcome.preimage && sha256(r.outcome.preimage).equals(hash), 'paid');
      assert.equal((await call(c, 'listinvoices', { payment_hash: hash.toString('hex') })).invoices[0].status, 'paid');
    });

    for (const [what, short, far] of [
      ['C refuses (a short amount)', 2n, 0],
      ['B refuses (an expiry past its max_cltv_expiry)', 0n, 100_000],
    ] as const) {
      it(`${what}: B answers A with update_fail_malformed_htlc invalid_onion_blinding and the sha256 of A's onion`, async () => {
        const amount = 2_000_000n;
        const { hash, path } = await invoiceAndPath(amount);
        const finalCltv = c.channels.blockHeight + path.min_final_cltv_expiry + 10;
        const r = await pay(path, hash, { amountMsat: amount, paid: withFee(path, amount) - short, finalCltv, incomingCltv: finalCltv + path.payinfo.cltv_expiry_delta + far, inside: true });
        assert.equal(r.outcome.preimage, undefined);
        assert.deepEqual(r.outcome.malformed, { failureCode: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion: sha256(r.packet) });
        assert.equal((await call(c, 'listinvoices', { payment_hash: hash.toString('hex') })).invoices[0].status, 'unpaid');
      });
    }
  });
});
