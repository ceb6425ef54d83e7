import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openSqliteStore, openStore, rawDb } from '../../src/store/database.js';
import { resolveStoreLocation } from '../../src/store/location.js';
import { migrations } from '../../src/store/migrations/index.js';
import { forEachBackend, postgresOnly } from './backends.js';

const id = '02' + '11'.repeat(32);

forEachBackend('store', ({ name, location }) => {
  it('creates the database with the migrations applied, and reopens it', async () => {
    const path = await location();
    const store = await openStore(path);
    assert.equal(store.backend, name);
    const applied = await sql<{ name: string }>`select name from anode_migrations order by name`.execute(rawDb(store));
    const names = Object.keys(migrations).sort();
    assert.equal(names[0], '0001_peers');
    assert.deepEqual(applied.rows.map((r) => r.name), names, 'every migration applied, in order');
    if (name === 'sqlite') {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(rawDb(store));
      assert.equal(mode.rows[0]!.journal_mode, 'wal');
    } else {
      // Nothing is acknowledged before its COMMIT is durable, whatever the server's default.
      const sync = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(rawDb(store));
      assert.equal(sync.rows[0]!.synchronous_commit, 'on');
    }
    await store.close();
    const again = await openStore(path);
    const applied2 = await sql<{ name: string }>`select name from anode_migrations`.execute(rawDb(again));
    assert.equal(applied2.rows.length, names.length, 'migrations are applied once');
    await again.close();
  });

  postgresOnly(name)('one node per PostgreSQL database: a second opener is refused until the first closes', async () => {
    const path = await location();
    const first = await openStore(path);
    await assert.rejects(openStore(path), /^StoreError: store: another anode is already using the database postgres:\/\/anode:\*\*\*@/);
    await first.close();
    const second = await openStore(path);
    await second.close();
  });

  it('persists peers: addresses merged most recent first, features and last seen updated', async () => {
    const path = await location();
    const store = await openStore(path);
    await store.peers.recordConnection(id, '127.0.0.1:9735', '0a', 1000);
    await store.peers.recordConnection(id, '10.0.0.1:9735', '0b', 2000);
    await store.peers.recordConnection(id, '127.0.0.1:9735', '0c', 3000);
    await store.peers.recordConnection(id, undefined, '0d', 4000); // inbound: no dialable address
    await store.close();
    const reopened = await openStore(path);
    assert.deepEqual(await reopened.peers.get(id), {
      nodeId: id,
      addresses: ['127.0.0.1:9735', '10.0.0.1:9735'],
      features: '0d',
      lastSeen: 4000,
    });
    assert.equal((await reopened.peers.list()).length, 1);
    await reopened.peers.remove(id);
    assert.equal(await reopened.peers.get(id), undefined);
    await reopened.close();
  });

  it('keeps at most five addresses', async () => {
    const store = await openStore(await location());
    for (let i = 0; i < 8; i++) await store.peers.recordConnection(id, `127.0.0.${i}:9735`, '', i);
    assert.deepEqual((await store.peers.get(id))!.addresses, ['127.0.0.7:9735', '127.0.0.6:9735', '127.0.0.5:9735', '127.0.0.4:9735', '127.0.0.3:9735']);
    await store.close();
  });

  it('keeps macaroon root keys: created once, the same key afterwards and after a reopen', async () => {
    const path = await location();
    const store = await openStore(path);
    assert.equal(await store.rootKeys.getRootKey('0'), undefined);
    const [a, b] = await Promise.all([store.rootKeys.createRootKey('0'), store.rootKeys.createRootKey('0')]);
    assert.equal(a.length, 32);
    assert.deepEqual(a, b);
    assert.notDeepEqual(await store.rootKeys.createRootKey('1'), a);
    await store.close();
    const again = await openStore(path);
    assert.deepEqual(await again.rootKeys.getRootKey('0'), a);
    await again.close();
  });

  it('wallet: 64-bit amounts, unconfirmed outputs first, a block connected and disconnected atomically', async () => {
    const store = await openStore(await location());
    const w = store.wallet;
    const amountSat = 2_100_000_000_000_000n; // all the bitcoin there will ever be: above 2^32
    const utxo = (txid: string, vout: number) => ({ txid, vout, amountSat, script: Buffer.from('0014' + '00'.repeat(20), 'hex'), keyKind: 'p2wpkh', keyBranch: 0, keyIndex: 7, coinbase: false });
    await w.connectBlock({ height: 101, hash: 'b1', created: [utxo('aa'.repeat(32), 0)], spent: [], ourTxids: [] });
    await w.recordBroadcast({ txid: 'cc'.repeat(32), raw: Buffer.from('00', 'hex') }, [{ txid: 'aa'.repeat(32), vout: 0 }], [utxo('cc'.repeat(32), 1)], 200);
    const list = await w.listUtxos({ includeSpent: true });
    assert.deepEqual(list.map((u) => [u.txid.slice(0, 2), u.blockHeight, u.amountSat]), [
      ['cc', null, amountSat],
      ['aa', 101, amountSat],
    ]);
    assert.deepEqual(await w.getScanTip(), { height: 101, hash: 'b1' });
    assert.deepEqual([...(await w.maxUsedIndexes())], [['p2wpkh:0', 7]]);
    await w.connectBlock({ height: 102, hash: 'b2', created: [], spent: [{ txid: 'aa'.repeat(32), vout: 0, spentTxid: 'cc'.repeat(32) }], ourTxids: ['cc'.repeat(32)] });
    assert.deepEqual(await w.unconfirmedTxs(), []);
    await w.disconnectBlock({ height: 102, hash: 'b2' });
    assert.equal((await w.unconfirmedTxs()).length, 1, 'our transaction is unconfirmed again');
    assert.equal((await w.listUtxos()).find((u) => u.txid === 'aa'.repeat(32))?.spentTxid, 'cc'.repeat(32), 'spent by our pending transaction');
    await store.close();
  });

  it('channel data: the document and its summary row in one transaction; revocations; key indexes', async () => {
    const path = await location();
    const store = await openStore(path);
    const summary = { channelId: 'ab'.repeat(32), peerId: id, state: 'CHANNELD_NORMAL' as const, opener: 'local' as const, shortChannelId: null, fundingTxid: 'cd'.repeat(32), fundingOutnum: 0, capacitySat: 5_000_000_000, createdAt: Date.now() };
    await store.channelData.save(summary, '{"v":1}');
    await store.channelData.save({ ...summary, state: 'CHANNELD_SHUTTING_DOWN' }, '{"v":2}');
    assert.deepEqual(await store.channelData.loadAll(), [{ channelId: summary.channelId, data: '{"v":2}' }]);
    assert.equal((await store.channels.get(summary.channelId))?.state, 'CHANNELD_SHUTTING_DOWN');
    assert.equal((await store.channels.get(summary.channelId))?.capacitySat, 5_000_000_000);
    await store.channelData.addRevocation({ txid: 'ef'.repeat(32), channelId: summary.channelId, commitNum: 2 ** 40, data: 'r' });
    await store.channelData.addRevocation({ txid: 'ef'.repeat(32), channelId: summary.channelId, commitNum: 1, data: 'dup' });
    assert.deepEqual(await store.channelData.findRevocation('ef'.repeat(32)), { channelId: summary.channelId, commitNum: 2 ** 40, data: 'r' });
    assert.deepEqual(await Promise.all([store.channelData.nextKeyIndex(), store.channelData.nextKeyIndex(), store.channelData.nextKeyIndex()]), [0, 1, 2]);
    await store.close();
    const again = await openStore(path);
    assert.equal(await again.channelData.nextKeyIndex(), 3);
    await again.close();
  });

  it('watchtower client: towers, a session, the durable queue, commit and ack', async () => {
    const store = await openStore(await location());
    const wt = store.wtclient;
    const tower = await wt.addTower(Buffer.alloc(33, 2), '127.0.0.1:9911', Date.now());
    const keyIndex = await wt.reserveKeyIndex(tower.id, 0, false);
    assert.equal(await wt.reserveKeyIndex(tower.id, 0, false), keyIndex, 'the reservation holds');
    const session = await wt.createSession(
      { id: Buffer.alloc(33, 3), towerId: tower.id, keyIndex, blobType: 0, maxUpdates: 2, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n, rewardScript: Buffer.alloc(0) },
      Date.now(),
    );
    assert.equal(session.sweepFeeRateSatPerKw, 2500n);
    assert.equal(await wt.addBackup(0, Buffer.alloc(32, 9), 2 ** 40, 'breach-1', Date.now()), true);
    assert.equal(await wt.addBackup(0, Buffer.alloc(32, 9), 5, 'old', Date.now()), false, 'a height at or below the highest is refused');
    const [b] = await wt.pendingBackups(0, 10);
    assert.equal(b?.commitHeight, 2 ** 40);
    const committed = await wt.commitUpdates(session.id, [{ backupId: b!.id, hint: Buffer.alloc(16, 1), blob: Buffer.alloc(10, 2) }]);
    assert.deepEqual(committed.map((c) => c.seqNum), [1]);
    assert.equal(await wt.countPending(0), 0);
    assert.deepEqual(await wt.ackUpdate(session.id, 1, 1), { kind: 'acked', exhausted: false });
    assert.equal((await wt.getSession(session.id))?.numAcked, 1);
    await assert.rejects(wt.ackUpdate(session.id, 2, 5), /beyond our seq_num/);
    await store.close();
  });
});

describe('store locations (--wallet)', () => {
  it('accepts postgres:// and sqlite3:// as lightningd does; a relative sqlite3 path is under the data dir', () => {
    assert.equal(resolveStoreLocation(undefined, '/d', 'anode.sqlite3'), 'sqlite3:///d/anode.sqlite3');
    assert.equal(resolveStoreLocation('sqlite3:///x/y.db', '/d', 'a'), 'sqlite3:///x/y.db');
    assert.equal(resolveStoreLocation('sqlite3://y.db', '/d', 'a'), 'sqlite3:///d/y.db');
    assert.equal(resolveStoreLocation('postgres://u:p@h:5432/db', '/d', 'a'), 'postgres://u:p@h:5432/db');
    assert.throws(() => resolveStoreLocation('mysql://h/db', '/d', 'a'), /neither postgres/);
    assert.throws(() => resolveStoreLocation('postgres://u:secret@/db', '/d', 'a'), (e: Error) => /not a valid postgres|names no host/.test(e.message) && !e.message.includes('secret'));
  });

  it('an unreachable PostgreSQL fails at once with one line naming it, without the password', async () => {
    const err = await openStore('postgres://anode:hunter2@127.0.0.1:1/anode').then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err);
    assert.match(err.message, /^store: cannot connect to postgres:\/\/anode:\*\*\*@127\.0\.0\.1:1\/anode: /);
    assert.ok(!err.message.includes('hunter2') && !err.message.includes('\n'));
  });
});

describe('SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anode-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fails with a clear error when the path cannot be opened', async () => {
    await assert.rejects(openSqliteStore(join(dir, 'no', 'such', 'dir', 'x.sqlite3')), /store: cannot open database/);
  });
});
