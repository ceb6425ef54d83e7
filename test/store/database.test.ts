import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openSqliteStore } from '../../src/store/database.js';
import { migrations } from '../../src/store/migrations/index.js';

describe('SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anode-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const id = '02' + '11'.repeat(32);

  it('creates a database file with the migrations applied, and reopens it', async () => {
    const path = join(dir, 'anode.sqlite3');
    const store = await openSqliteStore(path);
    const applied = await sql<{ name: string }>`select name from anode_migrations order by name`.execute(store.db);
    const names = Object.keys(migrations).sort();
    assert.equal(names[0], '0001_peers');
    assert.deepEqual(applied.rows.map((r) => r.name), names, 'every migration applied, in order');
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    assert.equal(mode.rows[0]!.journal_mode, 'wal');
    await store.close();
    const again = await openSqliteStore(path);
    const applied2 = await sql<{ name: string }>`select name from anode_migrations`.execute(again.db);
    assert.equal(applied2.rows.length, names.length, 'migrations are applied once');
    await again.close();
  });

  it('persists peers: addresses merged most recent first, features and last seen updated', async () => {
    const path = join(dir, 'peers.sqlite3');
    const store = await openSqliteStore(path);
    await store.peers.recordConnection(id, '127.0.0.1:9735', '0a', 1000);
    await store.peers.recordConnection(id, '10.0.0.1:9735', '0b', 2000);
    await store.peers.recordConnection(id, '127.0.0.1:9735', '0c', 3000);
    await store.peers.recordConnection(id, undefined, '0d', 4000); // inbound: no dialable address
    await store.close();
    const reopened = await openSqliteStore(path);
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
    const store = await openSqliteStore(join(dir, 'many.sqlite3'));
    for (let i = 0; i < 8; i++) await store.peers.recordConnection(id, `127.0.0.${i}:9735`, '', i);
    assert.deepEqual((await store.peers.get(id))!.addresses, ['127.0.0.7:9735', '127.0.0.6:9735', '127.0.0.5:9735', '127.0.0.4:9735', '127.0.0.3:9735']);
    await store.close();
  });

  it('keeps macaroon root keys: created once, the same key afterwards and after a reopen', async () => {
    const path = join(dir, 'keys.sqlite3');
    const store = await openSqliteStore(path);
    assert.equal(await store.rootKeys.getRootKey('0'), undefined);
    const [a, b] = await Promise.all([store.rootKeys.createRootKey('0'), store.rootKeys.createRootKey('0')]);
    assert.equal(a.length, 32);
    assert.deepEqual(a, b);
    assert.notDeepEqual(await store.rootKeys.createRootKey('1'), a);
    await store.close();
    const again = await openSqliteStore(path);
    assert.deepEqual(await again.rootKeys.getRootKey('0'), a);
    await again.close();
  });

  it('fails with a clear error when the path cannot be opened', async () => {
    await assert.rejects(openSqliteStore(join(dir, 'no', 'such', 'dir', 'x.sqlite3')), /store: cannot open database/);
  });
});
