/**
 * Sweep and penalty transactions (src/channel/sweep.ts) against a real btcd regtest node, which runs
 * full script validation: a 2-of-2 funding output, a real BOLT 3 commitment (static_remotekey and
 * anchors_zero_fee_htlc_tx, one offered and one received HTLC, to_self_delay 5) signed with both
 * funding keys and mined; then
 *  (a) the commitment treated as revoked: one penalty transaction taking to_local and both HTLCs by the
 *      revocation path plus our to_remote, accepted and mined;
 *  (c) the other side's direct claims of the owner's HTLC outputs: the offered one with its preimage,
 *      the received one after its expiry (refused by btcd before it);
 *  (b) the owner's to_local sweep refused while BIP 68 is not satisfied and accepted once to_self_delay
 *      blocks have passed (with the anchors format, its anchor in the same transaction), and the other
 *      side's to_remote sweep (P2WPKH at once; the anchors script only after one confirmation).
 *
 * Without btcd these tests skip loudly; with ANODE_REQUIRE_INTEROP=1 they fail.
 */
import { describe, it } from 'node:test';
import { keySet, type KeySet } from '../keyset.js';
import assert from 'node:assert/strict';
import { sha256 } from '../../../src/crypto/hash.js';
import { secp } from '../../../src/crypto/secp256k1.js';
import { parseTransaction } from '../../../src/chain/block.js';
import { fundingScript } from '../../../src/bitcoin/bolt3-scripts.js';
import { derivePrivkey, deriveRevocationPrivkey, perCommitmentPoint } from '../../../src/bitcoin/keys.js';
import { p2wsh } from '../../../src/bitcoin/script.js';
import {
  buildCommitmentTx,
  commitmentNumberObscurer,
  commitmentTxid,
  deriveCommitmentKeys,
  perCommitmentSecret,
  serializeSignedCommitmentTx,
  signCommitmentTx,
  type CommitmentFormat,
  type CommitmentTx,
} from '../../../src/channel/index.js';
import { anchorInput, buildSweepTx, delayedToLocalInput, penaltyInputs, toRemoteInput, type SweepInput, type SweepTx } from '../../../src/channel/onchain/sweep.js';
import { newP2wpkhKey, useBtcd } from '../../harness/btcd.js';
import { failOnUnhandledRejections } from '../../harness/guards.js';

const btcd = useBtcd('channel sweep/penalty transactions against btcd');

failOnUnhandledRejections();

const pub = (priv: Uint8Array): Buffer => secp.publicKey(priv);

const side = (tag: string): KeySet => keySet(`sweep-btcd/${tag}`);

const A = side('A'); // owns the commitment
const B = side('B'); // the other side
const TO_SELF_DELAY = 5;

/** The 32-byte payment preimage of HTLC `tag` of commitment `n`. */
const preimageOf = (tag: string, n: bigint): Buffer => sha256(Buffer.from(`${tag}/${n}`));

interface Published {
  c: CommitmentTx;
  txid: string;
  hex: string;
  secret: Buffer;
  point: Buffer;
}

/** Funds the 2-of-2 and builds A's commitment number `n` (signed with both funding keys, not broadcast). */
async function commitment(format: CommitmentFormat, n: bigint): Promise<Published> {
  const fScript = fundingScript(pub(A.funding), pub(B.funding));
  const utxo = await btcd.node.fund(p2wsh(fScript), 1_000_000n);
  const secret = perCommitmentSecret(A.seed, n);
  const point = perCommitmentPoint(secret);
  const height = await btcd.node.getBlockCount();
  const c = buildCommitmentTx({
    format,
    funding: { txid: utxo.txid, vout: utxo.vout, amountSat: utxo.amountSat },
    localFundingPubkey: pub(A.funding),
    remoteFundingPubkey: pub(B.funding),
    keys: deriveCommitmentKeys(A.basepoints, B.basepoints, point, true),
    commitmentNumber: n,
    obscurer: commitmentNumberObscurer(A.basepoints.paymentBasepoint, B.basepoints.paymentBasepoint),
    toSelfDelay: TO_SELF_DELAY,
    dustLimitSat: 546n,
    feeratePerKw: 2500n,
    opener: 'local',
    toLocalMsat: 600_000_000n,
    toRemoteMsat: 300_000_000n,
    htlcs: [
      { direction: 'offered', amountMsat: 40_000_000n, paymentHash: sha256(preimageOf('p1', n)), cltvExpiry: height + 100 },
      { direction: 'received', amountMsat: 50_000_000n, paymentHash: sha256(preimageOf('p2', n)), cltvExpiry: height + 110 },
    ],
  });
  assert.equal(c.outputs.filter((o) => o.kind === 'offered_htlc').length, 1, 'offered HTLC untrimmed');
  assert.equal(c.outputs.filter((o) => o.kind === 'received_htlc').length, 1, 'received HTLC untrimmed');
  const raw = serializeSignedCommitmentTx(c, signCommitmentTx(c, A.funding), signCommitmentTx(c, B.funding));
  return { c, txid: commitmentTxid(c), hex: raw.toString('hex'), secret, point };
}

async function broadcastAndMine(hex: string, txid: string): Promise<void> {
  assert.equal(await btcd.node.sendRawTransaction(hex), txid);
  assert.ok((await btcd.node.getRawMempool()).includes(txid), `${txid} in the mempool`);
  const [hash] = await btcd.node.generate(1);
  const block = await btcd.node.getBlock(hash!);
  assert.ok(block.transactions.some((t) => t.txid === txid), `${txid} mined`);
}

/** Accepts into the mempool and mines it; checks the one output pays `dest` `outputSat`. */
async function acceptAndMine(t: SweepTx, dest: Uint8Array): Promise<void> {
  const parsed = parseTransaction(new Uint8Array(t.raw));
  assert.equal(parsed.txid, t.txid);
  assert.equal(parsed.outputs.length, 1);
  assert.deepEqual(Buffer.from(parsed.outputs[0]!.script), Buffer.from(dest));
  assert.equal(parsed.outputs[0]!.valueSat, t.outputSat);
  await broadcastAndMine(t.hex, t.txid);
}

async function expectRejected(hex: string, pattern: RegExp): Promise<void> {
  await assert.rejects(btcd.node.sendRawTransaction(hex), (e: unknown) => {
    const msg = e instanceof Error ? `${e.message} ${(e as { rpcMessage?: string }).rpcMessage ?? ''}` : String(e);
    assert.match(msg, pattern);
    return true;
  });
}

/** btcd's BIP 68 refusal (mempool `checkSequenceLocks`). */
const SEQUENCE_LOCKS = /sequence locks on inputs not met/;

const FORMATS: CommitmentFormat[] = ['static_remotekey', 'anchors_zero_fee_htlc_tx'];

describe('sweep transactions against btcd', { skip: btcd.skip, timeout: 120_000 }, () => {
  for (const format of FORMATS) {
    it(`${format}: penalty of a revoked commitment takes to_local, both HTLCs and to_remote in one transaction`, { timeout: 30_000 }, async () => {
      const p = await commitment(format, 3n);
      await broadcastAndMine(p.hex, p.txid);

      // B learns A's per-commitment secret when A revokes the commitment.
      const revocationPrivkey = deriveRevocationPrivkey(B.revocation, p.secret);
      const inputs = penaltyInputs({ commitment: p.c, txid: p.txid, revocationPrivkey, toRemotePrivkey: B.payment });
      assert.deepEqual(inputs.map((i) => i.kind).sort(), ['htlc_revoked', 'htlc_revoked', format === 'static_remotekey' ? 'p2wpkh' : 'to_remote_anchors', 'to_local_revoked'].sort());
      const dest = newP2wpkhKey().script;
      // Control: signing the to_local for a wrong amount (BIP 143 commits to it) fails btcd's script check.
      const forged = inputs.map((i) => (i.kind === 'to_local_revoked' ? { ...i, amountSat: i.amountSat + 1n } : i));
      await expectRejected(buildSweepTx({ inputs: forged, destScript: dest, feeratePerKw: 2000n }).hex, /script|signature|verif/i);
      const t = buildSweepTx({ inputs, destScript: dest, feeratePerKw: 2000n });
      assert.equal(t.outputSat + t.feeSat, p.c.outputs.filter((o) => !o.kind.endsWith('_anchor')).reduce((s, o) => s + o.amountSat, 0n));
      await acceptAndMine(t, dest);
    });

    it(`${format}: the owner's to_local waits for to_self_delay; the other side's to_remote`, { timeout: 30_000 }, async () => {
      const p = await commitment(format, 4n);
      const anchors = format !== 'static_remotekey';
      const destB = newP2wpkhKey().script;
      const remote = toRemoteInput({ commitment: p.c, txid: p.txid, privkey: B.payment });
      assert.ok(remote);
      const remoteSweep = buildSweepTx({ inputs: [remote], destScript: destB, feeratePerKw: 1000n });

      // The commitment in the mempool only: the anchors to_remote (1 OP_CSV) cannot be spent yet.
      assert.equal(await btcd.node.sendRawTransaction(p.hex), p.txid);
      if (anchors) await expectRejected(remoteSweep.hex, SEQUENCE_LOCKS);
      const [hash] = await btcd.node.generate(1);
      assert.ok((await btcd.node.getBlock(hash!)).transactions.some((t) => t.txid === p.txid), 'commitment mined');

      // The owner's to_local (with the anchors format, its anchor along).
      const delayedPrivkey = derivePrivkey(A.delayed, p.point);
      const local = delayedToLocalInput({ commitment: p.c, txid: p.txid, delayedPrivkey });
      assert.ok(local);
      const inputs = [local];
      if (anchors) {
        const a = anchorInput({ commitment: p.c, txid: p.txid, which: 'to_local_anchor', fundingPrivkey: A.funding });
        assert.ok(a);
        inputs.push(a);
      }
      const destA = newP2wpkhKey().script;
      const localSweep = buildSweepTx({ inputs, destScript: destA, feeratePerKw: 1000n });
      // One confirmation, then to_self_delay − 2 more: the next block is still too early.
      await expectRejected(localSweep.hex, SEQUENCE_LOCKS);
      await btcd.node.generate(TO_SELF_DELAY - 2);
      await expectRejected(localSweep.hex, SEQUENCE_LOCKS);
      // One more block: the next block is to_self_delay after the commitment's.
      await btcd.node.generate(1);
      await acceptAndMine(localSweep, destA);

      // The other side's to_remote: P2WPKH, or the anchors script now that the commitment is confirmed.
      await acceptAndMine(remoteSweep, destB);
    });

    it(`${format}: the other side claims the owner's HTLC outputs directly: the offered one with its preimage, the received one after its expiry`, { timeout: 30_000 }, async () => {
      const p = await commitment(format, 5n);
      await broadcastAndMine(p.hex, p.txid);
      const anchors = format !== 'static_remotekey';
      const privkey = derivePrivkey(B.htlc, p.point);
      const claim = (kind: 'offered_htlc' | 'received_htlc'): SweepInput => {
        const vout = p.c.outputs.findIndex((o) => o.kind === kind);
        const o = p.c.outputs[vout]!;
        const base = { txid: p.txid, vout, amountSat: o.amountSat, witnessScript: o.witnessScript!, privkey, anchors };
        return kind === 'offered_htlc' ? { ...base, kind: 'htlc_success_remote', preimage: preimageOf('p1', 5n) } : { ...base, kind: 'htlc_timeout_remote' };
      };
      const dest = newP2wpkhKey().script;
      const success = claim('offered_htlc');
      assert.throws(() => buildSweepTx({ inputs: [{ ...success, preimage: preimageOf('p2', 5n) } as SweepInput], destScript: dest, feeratePerKw: 1000n }), /preimage/);
      await acceptAndMine(buildSweepTx({ inputs: [success], destScript: dest, feeratePerKw: 1000n }), dest);

      const timeout = claim('received_htlc');
      const cltv = p.c.outputs[timeout.vout]!.htlc!.cltvExpiry;
      const t = buildSweepTx({ inputs: [timeout], destScript: dest, feeratePerKw: 1000n, lockTime: cltv });
      // Locked until the block after cltv_expiry (btcd's regtest mempool takes it early; its miner does not).
      assert.equal(await btcd.node.sendRawTransaction(t.hex), t.txid);
      await btcd.node.mineTo(cltv);
      assert.ok((await btcd.node.getRawMempool()).includes(t.txid), 'not mined up to cltv_expiry');
      const [hash] = await btcd.node.generate(1);
      assert.ok((await btcd.node.getBlock(hash!)).transactions.some((x) => x.txid === t.txid), 'mined in the block after cltv_expiry');
    });
  }
});
