/**
 * A restored seed finds its funds (btcd regtest, the whole node in this process): the original node's
 * wallet gets outputs (P2WPKH and P2TR, one spent by a withdraw with change); then its `hsm_secret` alone,
 * in a new data dir, scans from the chain tip and sees nothing, while with `--rescan` (lightningd's:
 * negative = an absolute height, positive = blocks back) or with the seed's birthday file beside it, it
 * finds every output the original had.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteStore, rawDb } from '../../src/store/database.js';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, tempDir, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';

const btcd = useBtcd('wallet rescan of a restored seed');

/** Unspent outputs as `txid:vout=amount`, sorted. */
async function outputs(n: TestNode): Promise<string[]> {
  await n.node.wallet!.sync();
  return (await n.node.wallet!.listFunds()).map((o) => `${o.txid}:${o.output}=${o.amountSat}:${o.status}`).sort();
}

/** A new data dir holding a copy of `from`'s seed (and its birthday when `birthday`). */
function restoredDir(from: TestNode, birthday: boolean): string {
  const dir = tempDir('anode-restore-');
  mkdirSync(join(dir, 'regtest'), { recursive: true, mode: 0o700 });
  copyFileSync(join(from.dir, 'regtest', 'hsm_secret'), join(dir, 'regtest', 'hsm_secret'));
  if (birthday) copyFileSync(join(from.dir, 'regtest', 'hsm_secret.birthday'), join(dir, 'regtest', 'hsm_secret.birthday'));
  return dir;
}

describe('restoring a seed', { skip: btcd.skip, timeout: 240_000 }, () => {
  it('finds every wallet output the original node had with --rescan or the birthday, none without', async () => {
    const before = await btcd.node.getBlockCount();
    const original = await startNode(btcd.node);
    let expected: string[];
    try {
      await until(() => existsSync(join(original.dir, 'regtest', 'hsm_secret.birthday')), { what: 'the birthday file', timeoutMs: 20_000 });
      const birthday = Number(readFileSync(join(original.dir, 'regtest', 'hsm_secret.birthday'), 'utf8'));
      assert.ok(birthday >= before, `birthday ${birthday} is the tip when the seed was created (≥ ${before})`);
      await fundWallet(btcd.node, original, 400_000n);
      await fundWallet(btcd.node, original, 250_000n);
      const { address } = await original.node.wallet!.newAddress('p2tr');
      await btcd.node.fund(addressToScript(address, btcNetwork('regtest')), 300_000n);
      // Spend one: a withdraw with change, confirmed.
      const spend = await original.node.wallet!.withdraw({ destination: btcd.node.miner.address, amountSat: 100_000n });
      await btcd.node.generate(1);
      await until(async () => (await outputs(original)).some((o) => o.startsWith(spend.txid)) && (await outputs(original)).every((o) => o.endsWith(':confirmed')), {
        what: 'the outputs and the change of the withdraw, confirmed',
        timeoutMs: 30_000,
      });
      expected = await outputs(original);
      assert.ok(expected.length >= 3, `funds to restore: ${expected.join(', ')}`);
    } finally {
      await original.stop();
    }
    await btcd.node.generate(20);

    // The seed alone, no --rescan: the wallet starts at the tip and sees nothing (and says so).
    const bare = await startNode(btcd.node, { dir: restoredDir(original, false) });
    try {
      assert.deepEqual(await outputs(bare), [], 'a restored seed without birthday or --rescan scans from the tip');
    } finally {
      await bare.stop();
    }

    // --rescan=-<height>: from an absolute height before the first payment.
    const absolute = await startNode(btcd.node, { dir: restoredDir(original, false), extra: [`--rescan=-${before}`] });
    try {
      assert.deepEqual(await outputs(absolute), expected);
    } finally {
      await absolute.stop();
    }

    // --rescan=<blocks back> over a wallet that already scanned to the tip (the bare one's data dir is not reused: a fresh copy).
    const tip = await btcd.node.getBlockCount();
    const relative = await startNode(btcd.node, { dir: restoredDir(original, false), extra: [`--rescan=${tip - before}`] });
    try {
      assert.deepEqual(await outputs(relative), expected);
    } finally {
      await relative.stop();
    }

    // The seed with its birthday file: no option needed.
    const withBirthday = await startNode(btcd.node, { dir: restoredDir(original, true) });
    try {
      assert.deepEqual(await outputs(withBirthday), expected);
    } finally {
      await withBirthday.stop();
    }
  });

  it('--rescan over a wallet that already scanned past the outputs scans those blocks again', async () => {
    const first = await startNode(btcd.node);
    const dir = first.dir;
    const from = await btcd.node.getBlockCount();
    let expected: string[];
    try {
      await fundWallet(btcd.node, first, 123_000n);
      expected = await outputs(first);
      assert.equal(expected.length, 1);
    } finally {
      await first.stop();
    }
    // Forget the outputs (a wallet that went wrong), keep the scan tip: only a rescan brings them back.
    const store = await openSqliteStore(join(dir, 'regtest', 'anode.sqlite3'));
    await rawDb(store).deleteFrom('wallet_utxos').execute();
    await store.close();
    const again = await startNode(btcd.node, { dir });
    try {
      assert.deepEqual(await outputs(again), [], 'the scan tip is past the output: nothing without --rescan');
    } finally {
      await again.stop();
    }
    const rescanned = await startNode(btcd.node, { dir, extra: [`--rescan=-${from}`] });
    try {
      assert.deepEqual(await outputs(rescanned), expected);
    } finally {
      await rescanned.stop();
    }
  });
});
