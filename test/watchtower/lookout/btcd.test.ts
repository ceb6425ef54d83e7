/**
 * The lookout end to end on a real btcd regtest node: a funded 2-of-2, a signed commitment-shaped breach,
 * the victim's justice kit uploaded through a real wtwire session (BOLT 8, CreateSession + StateUpdate) to
 * a real WatchtowerServer, the breach mined — and btcd accepting the tower's justice transaction with full
 * script validation (it is mined), paying exactly §3.7's sweep amount. For every blob type; only
 * to_local; only to_remote; a hint that matches but does not decrypt; a tower restart with the breach
 * mined while it was down; a reorg of the breach block.
 *
 * Without btcd these tests skip loudly; with ANODE_REQUIRE_INTEROP=1 they fail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { parseTransaction } from '../../../src/chain/block.js';
import { breachHint } from '../../../src/watchtower/blob/index.js';
import type { CommitmentType } from '../../../src/watchtower/blob/index.js';
import type { PunishmentRecord } from '../../../src/watchtower/lookout/store.js';
import type { SkippedBlob } from '../../../src/watchtower/lookout/index.js';
import { useBtcd } from '../../harness/btcd.js';
import { until } from '../../harness/wait.js';
import { BLOB_TYPE, expectedSweep, justiceKitFor, makeBreach, startTower, synced, Victim, type Breach, type Tower } from './harness.js';
import { failOnUnhandledRejections } from '../../harness/guards.js';

const btcd = useBtcd('watchtower lookout end-to-end tests against btcd', { teardown: () => Promise.all(towers.map((t) => t.close())) });

failOnUnhandledRejections();

const towers: Tower[] = [];
async function tower(): Promise<Tower> {
  const t = await startTower(btcd.node);
  towers.push(t);
  return t;
}

async function punishmentFor(t: Tower, breachTxid: string): Promise<PunishmentRecord | undefined> {
  return (await t.store.listPunishments()).find((p) => p.breachTxid === breachTxid);
}

/** Waits until the tower recorded a punishment of the breach and tried to publish it (the record comes first). */
async function published(t: Tower, breachTxid: string, what: string): Promise<PunishmentRecord> {
  await until(async () => ((await punishmentFor(t, breachTxid))?.publishAttempts ?? 0) > 0, what);
  return (await punishmentFor(t, breachTxid))!;
}

/**
 * Broadcasts and mines the breach, waits for the tower to publish, mines, and checks that btcd mined the
 * justice transaction: it spends the breach outputs and pays the sweep script exactly §3.7's amount.
 */
async function breachAndExpectPunished(t: Tower, b: Breach): Promise<PunishmentRecord> {
  const from = (await btcd.node.getBlockCount()) + 1;
  await btcd.node.sendRawTransaction(b.hex);
  await btcd.node.generate(1);
  const p = await published(t, b.txid, `punishment of ${b.txid}`);
  assert.equal(p.lastError, null, `published without error (${p.lastError})`);
  assert.ok((await btcd.node.getRawMempool()).includes(p.justiceTxid), 'btcd accepted the justice transaction into its mempool');
  await btcd.node.generate(1);
  await until(async () => (await t.store.getPunishment(p.justiceTxid))?.outcome === 'confirmed', 'justice confirmed');
  const mined = await btcd.node.minedAt(p.justiceTxid, from);
  assert.ok(mined, 'justice transaction mined');
  const jt = parseTransaction(mined.raw);
  const spent = jt.inputs.map((i) => `${i.txid}:${i.vout}`).sort();
  const expectSpent = [b.toLocal, b.toRemote].filter((o) => o !== null).map((o) => `${b.txid}:${o!.vout}`).sort();
  assert.deepEqual(spent, expectSpent, 'spends exactly the breach outputs');
  assert.equal(jt.outputs.length, 1);
  assert.deepEqual(Buffer.from(jt.outputs[0]!.script), b.sweepScript);
  const want = expectedSweep(b.commitment, b.toLocal!.amountSat, b.toRemote?.amountSat ?? null, b.sweepScript);
  assert.equal(jt.outputs[0]!.valueSat, want, 'sweep pays exactly §3.7');
  const rec = (await t.store.getPunishment(p.justiceTxid))!;
  assert.equal(rec.sweepSat, want);
  assert.equal(rec.resolvedHeight, mined.height);
  assert.equal(rec.resolvedByTxid, p.justiceTxid);
  return rec;
}

const TYPES: CommitmentType[] = ['legacy', 'anchor', 'taproot', 'taproot-final'];

describe('lookout against btcd: every blob type', { skip: btcd.skip, timeout: 300_000 }, () => {
  for (const c of TYPES) {
    it(`${c} (blob 0x${BLOB_TYPE[c].toString(16).padStart(4, '0')}): to_local + to_remote swept, exact amount, mined`, async () => {
      const t = await tower();
      const victim = await Victim.create(t.port, BLOB_TYPE[c]);
      const b = await makeBreach(btcd.node, c, 600_000n, 390_000n);
      const { hint, blob } = justiceKitFor(b, BLOB_TYPE[c]);
      await victim.upload(hint, blob);
      const rec = await breachAndExpectPunished(t, b);
      assert.equal(rec.blobType, BLOB_TYPE[c]);
      assert.equal(rec.totalSat, 990_000n);
      const st = await t.lookout.status();
      assert.deepEqual(st.punishments, { total: 1, pending: 0, confirmed: 1, conflicted: 0 });
      assert.equal(st.recent[0]!.state, 'confirmed');
      assert.equal(st.skippedBlobs, 0);
    });
  }

  for (const c of ['legacy', 'taproot-final'] as const) {
    it(`${c}: only to_local`, async () => {
      const t = await tower();
      const victim = await Victim.create(t.port, BLOB_TYPE[c]);
      const b = await makeBreach(btcd.node, c, 700_000n, null);
      const { hint, blob } = justiceKitFor(b, BLOB_TYPE[c]);
      await victim.upload(hint, blob);
      const rec = await breachAndExpectPunished(t, b);
      assert.equal(rec.totalSat, 700_000n);
    });
  }

  it('only to_remote: skipped as LND skips it (the tower always expects to_local); the tower keeps going', async () => {
    // The breacher's to_remote pays the victim directly, so there is nothing to take back; LND's tower
    // fails such kits (zero to_local signature / ErrOutputNotFound). Ours logs and skips them.
    const t = await tower();
    const victim = await Victim.create(t.port, BLOB_TYPE.anchor);
    const skips: SkippedBlob[] = [];
    t.lookout.on('skip', (s: SkippedBlob) => skips.push(s));
    const b = await makeBreach(btcd.node, 'anchor', null, 500_000n);
    const k = justiceKitFor(b, BLOB_TYPE.anchor);
    await victim.upload(k.hint, k.blob);
    await btcd.node.sendRawTransaction(b.hex);
    await btcd.node.generate(1);
    await synced(t, btcd.node);
    assert.equal(skips.length, 1);
    assert.equal(skips[0]!.breachTxid, b.txid);
    assert.equal(skips[0]!.stage, 'build');
    assert.equal(await punishmentFor(t, b.txid), undefined);
    // Still punishing.
    const good = await makeBreach(btcd.node, 'anchor', 400_000n, 100_000n);
    const g = justiceKitFor(good, BLOB_TYPE.anchor);
    await victim.upload(g.hint, g.blob);
    await breachAndExpectPunished(t, good);
  });

  it('a hint that matches but does not decrypt is skipped; a later valid breach is still punished', async () => {
    const t = await tower();
    const victim = await Victim.create(t.port, BLOB_TYPE.legacy);
    const skips: SkippedBlob[] = [];
    t.lookout.on('skip', (s: SkippedBlob) => skips.push(s));
    const bad = await makeBreach(btcd.node, 'legacy', 300_000n, 200_000n);
    // Right hint, right size, garbage ciphertext.
    await victim.upload(breachHint(bad.signing.breachTxid), randomBytes(314));
    const good = await makeBreach(btcd.node, 'legacy', 500_000n, 200_000n);
    const g = justiceKitFor(good, BLOB_TYPE.legacy);
    await victim.upload(g.hint, g.blob);

    await btcd.node.sendRawTransaction(bad.hex);
    await btcd.node.generate(1);
    await synced(t, btcd.node);
    assert.deepEqual(skips.map((s) => [s.breachTxid, s.stage, s.code, s.seqNum]), [[bad.txid, 'decrypt', 'DECRYPT_FAILED', 1]]);
    assert.equal(await punishmentFor(t, bad.txid), undefined);
    assert.ok(t.lookout.active);
    await breachAndExpectPunished(t, good);
    assert.equal((await t.lookout.status()).skippedBlobs, 1);
  });
});

describe('lookout against btcd: restart and reorg', { skip: btcd.skip, timeout: 300_000 }, () => {
  it('restart: blocks mined while the tower was down are scanned; the breach in them is punished', async () => {
    const t = await tower();
    const victim = await Victim.create(t.port, BLOB_TYPE.taproot);
    const b = await makeBreach(btcd.node, 'taproot', 800_000n, 150_000n);
    const k = justiceKitFor(b, BLOB_TYPE.taproot);
    await victim.upload(k.hint, k.blob);
    await synced(t, btcd.node);
    const downAt = (await t.lookout.status()).tip!;
    await t.stop();

    // While it is down: 2 blocks, the breach, 3 more blocks.
    await btcd.node.generate(2);
    await btcd.node.sendRawTransaction(b.hex);
    const [breachBlock] = await btcd.node.generate(1);
    await btcd.node.generate(3);
    assert.ok((await btcd.node.getBlock(breachBlock!)).transactions.some((x) => x.txid === b.txid));
    const stored = await (async () => {
      const { openTowerStore } = await import('../../../src/store/tower.js');
      const s = await openTowerStore(t.dbPath);
      const tip = await s.loadLookoutTip();
      await s.close();
      return tip;
    })();
    assert.deepEqual(stored, downAt, 'the persisted tip is where the tower stopped');

    await t.start();
    const p = await published(t, b.txid, 'punishment after restart');
    assert.equal(p.breachHeight, downAt.height + 3);
    assert.equal(p.lastError, null);
    await synced(t, btcd.node);
    assert.equal((await t.lookout.status()).blocksScanned, 6, 'every block mined while down was scanned');
    await btcd.node.generate(1);
    await until(async () => (await t.store.getPunishment(p.justiceTxid))?.outcome === 'confirmed', 'justice confirmed');
    const mined = await btcd.node.minedAt(p.justiceTxid, downAt.height + 1);
    assert.ok(mined);
    assert.equal(parseTransaction(mined.raw).outputs[0]!.valueSat, expectedSweep('taproot', 800_000n, 150_000n, b.sweepScript));
  });

  it('reorg: the breach block is invalidated and the breach re-mined: punished exactly once, no crash', async () => {
    const t = await tower();
    const victim = await Victim.create(t.port, BLOB_TYPE.legacy);
    const b = await makeBreach(btcd.node, 'legacy', 600_000n, 300_000n);
    const k = justiceKitFor(b, BLOB_TYPE.legacy);
    await victim.upload(k.hint, k.blob);
    const disconnects: number[] = [];
    t.lookout.on('disconnect', (tip: { height: number }) => disconnects.push(tip.height));

    // Breach in block h, justice confirmed in h+1.
    const h = (await btcd.node.getBlockCount()) + 1;
    await btcd.node.sendRawTransaction(b.hex);
    const [breachBlock] = await btcd.node.generate(1);
    const p = await published(t, b.txid, 'first punishment');
    await btcd.node.generate(1);
    await until(async () => (await t.store.getPunishment(p.justiceTxid))?.outcome === 'confirmed', 'first confirmation');

    // Invalidate the breach block (and so the justice block): back to h-1.
    await btcd.node.invalidateBlock(breachBlock!);
    assert.equal(await btcd.node.getBlockCount(), h - 1);
    // Re-broadcast the breach (btcd may already have put it back into its mempool: that is fine).
    await btcd.node.sendRawTransaction(b.hex);
    await btcd.node.fund(Buffer.from(b.sweepScript), 10_000n, { confirm: false }); // so no block repeats
    const branch = await btcd.node.generate(2); // h', h+1'
    assert.notEqual(branch[0], breachBlock);
    assert.ok((await btcd.node.getBlock(branch[0]!)).transactions.some((x) => x.txid === b.txid), 'breach re-mined');
    await synced(t, btcd.node);
    assert.deepEqual(disconnects, [h + 1, h]);
    // The justice transaction (the same one: it is deterministic) confirms again, on the new branch.
    if ((await t.store.getPunishment(p.justiceTxid))?.outcome !== 'confirmed') await btcd.node.generate(1);
    await until(async () => (await t.store.getPunishment(p.justiceTxid))?.outcome === 'confirmed', 'confirmation on the new branch');
    const mined = await btcd.node.minedAt(p.justiceTxid, h);
    assert.ok(mined, 'justice mined on the new branch');
    assert.equal(parseTransaction(mined.raw).outputs[0]!.valueSat, expectedSweep('legacy', 600_000n, 300_000n, b.sweepScript));
    const all = (await t.store.listPunishments()).filter((x) => x.breachTxid === b.txid);
    assert.equal(all.length, 1, 'punished exactly once');
    assert.equal(all[0]!.resolvedHeight, mined.height);
    // No crash: still scanning.
    assert.ok(t.lookout.active);
    await btcd.node.generate(1);
    await synced(t, btcd.node);
  });
});
