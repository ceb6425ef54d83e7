import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import { forEachBackend } from './backends.js';

forEachBackend('peer records are written in batches', ({ location }) => {
  const id = (i: number): string => '02' + i.toString(16).padStart(64, '0');

  it('a burst of 500 connections is persisted in full, each promise resolving once committed', async () => {
    const store = await openStore(await location());
    await Promise.all(Array.from({ length: 500 }, (_, i) => store.peers.recordConnection(id(i), `127.0.0.1:${1000 + i}`, 'aa', i)));
    assert.equal((await store.peers.list()).length, 500);
    assert.deepEqual((await store.peers.get(id(499)))?.addresses, ['127.0.0.1:1499']);
    await store.close();
  });

  it('records for the same node within one batch apply in order', async () => {
    const store = await openStore(await location());
    await Promise.all([
      store.peers.recordConnection(id(1), 'a:1', '01', 1),
      store.peers.recordConnection(id(1), 'b:2', '02', 2),
      store.peers.recordConnection(id(1), undefined, '03', 3),
    ]);
    assert.deepEqual(await store.peers.get(id(1)), { nodeId: id(1), addresses: ['b:2', 'a:1'], features: '03', lastSeen: 3 });
    await store.close();
  });

  it('close() writes what is still buffered', async () => {
    const path = await location();
    const store = await openStore(path);
    const pending = store.peers.recordConnection(id(7), 'c:3', '07', 7);
    await store.close();
    await pending;
    const again = await openStore(path);
    assert.equal((await again.peers.get(id(7)))?.features, '07');
    await again.close();
  });
});
