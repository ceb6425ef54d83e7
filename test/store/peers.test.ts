import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/database.js';

describe('peer records are written in batches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anode-peers-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const id = (i: number): string => '02' + i.toString(16).padStart(64, '0');

  it('a burst of 500 connections is persisted in full, each promise resolving once committed', async () => {
    const store = await openSqliteStore(join(dir, 'burst.sqlite3'));
    await Promise.all(Array.from({ length: 500 }, (_, i) => store.peers.recordConnection(id(i), `127.0.0.1:${1000 + i}`, 'aa', i)));
    assert.equal((await store.peers.list()).length, 500);
    assert.deepEqual((await store.peers.get(id(499)))?.addresses, ['127.0.0.1:1499']);
    await store.close();
  });

  it('records for the same node within one batch apply in order', async () => {
    const store = await openSqliteStore(join(dir, 'order.sqlite3'));
    await Promise.all([
      store.peers.recordConnection(id(1), 'a:1', '01', 1),
      store.peers.recordConnection(id(1), 'b:2', '02', 2),
      store.peers.recordConnection(id(1), undefined, '03', 3),
    ]);
    assert.deepEqual(await store.peers.get(id(1)), { nodeId: id(1), addresses: ['b:2', 'a:1'], features: '03', lastSeen: 3 });
    await store.close();
  });

  it('close() writes what is still buffered', async () => {
    const path = join(dir, 'close.sqlite3');
    const store = await openSqliteStore(path);
    const pending = store.peers.recordConnection(id(7), 'c:3', '07', 7);
    await store.close();
    await pending;
    const again = await openSqliteStore(path);
    assert.equal((await again.peers.get(id(7)))?.features, '07');
    await again.close();
  });
});
