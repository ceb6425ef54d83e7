/** The wtclient JSON-RPC methods and `anode-cli wtclient …`, against a real client, tower and RPC server. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from '../../../src/cli/main.js';
import { rpcCall, startRpcNode } from '../../rpc/harness.js';
import { startTower, TOWER_KEY } from '../server/client.js';
import { tempDir } from '../../harness/daemon.js';
import { breachFor, channelId, startClient } from './helpers.js';
import { until } from '../../harness/wait.js';

test('wtclient over JSON-RPC and anode-cli: add, towers, tower, stats, policy, terminate, deactivate, remove, errors', async () => {
  const dir = tempDir('anode-wtclient-');
  const tower = await startTower();
  const node = await startRpcNode();
  const c = await startClient(join(dir, 'anode.sqlite3'));
  const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli([`--rpc-file=${node.path}`, ...args], { io: { stdout: (t) => (out += t), stderr: (t) => (err += t) } });
    return { code, out, err };
  };
  try {
    const off = await rpcCall(node.path, 'wtclient-stats', {});
    assert.equal(off.error?.message, 'watchtower client not active');
    (node.core as { watchtowerClient?: unknown }).watchtowerClient = c.client;
    const pk = TOWER_KEY.publicKey.toString('hex');
    assert.equal((await cli('wtclient', 'add', `${pk}@127.0.0.1:${tower.port}`)).code, 0);
    const bad = await cli('wtclient', 'add', 'nope@127.0.0.1');
    assert.notEqual(bad.code, 0);
    assert.match(bad.out + bad.err, /invalid pubkey/);
    // The tower gets a session per client type as soon as it is added.
    await until(async () => (await c.client.stats()).numSessionsAcquired === 4, '4 sessions');
    await c.client.backupState(channelId(1), 1, breachFor(1, 1));
    await until(async () => (await c.client.listTowers({ includeSessions: true, excludeExhaustedSessions: false }))[0]?.sessionInfo[0]?.sessions[0]?.numBackups === 1, 'acked');
    const towers = JSON.parse((await cli('wtclient', 'towers', '--include_sessions')).out) as { towers: { pubkey: string; session_info: { sessions: { id: string; num_backups: number }[] }[] }[] };
    assert.equal(towers.towers[0]!.pubkey, pk);
    const sid = towers.towers[0]!.session_info[0]!.sessions[0]!.id;
    assert.equal(towers.towers[0]!.session_info[0]!.sessions[0]!.num_backups, 1);
    const one = JSON.parse((await cli('wtclient', 'tower', pk)).out) as { num_sessions: number; session_info: { sessions: unknown[] }[] };
    assert.equal(one.num_sessions, 4, 'deprecated top-level count: every client type');
    assert.deepEqual(one.session_info[0]!.sessions, []);
    assert.equal((JSON.parse((await cli('wtclient', 'stats')).out) as { num_backups: number }).num_backups, 1);
    assert.deepEqual(JSON.parse((await cli('wtclient', 'policy', '--anchor')).out), { max_updates: 1024, sweep_sat_per_vbyte: 10 });
    assert.deepEqual(JSON.parse((await cli('wtclient', 'session', 'terminate', sid)).out), { status: `Successful termination of session: ${sid}` });
    const other = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
    const nf = await rpcCall(node.path, 'wtclient-terminatesession', { session_id: other });
    assert.deepEqual([nf.error?.code, nf.error?.message], [-1, 'client session not found']);
    const tnf = await rpcCall(node.path, 'wtclient-gettowerinfo', { pubkey: other });
    assert.equal(tnf.error?.message, 'tower not found');
    assert.deepEqual(JSON.parse((await cli('wtclient', 'deactivate', pk)).out), { status: `Successful deactivation of tower: ${pk}` });
    assert.equal((await cli('wtclient', 'remove', pk)).code, 0);
    const last = await rpcCall(node.path, 'wtclient-removetower', { pubkey: `${pk}@127.0.0.1:${tower.port}` });
    assert.equal(last.error?.message, 'cannot remove last tower address');
  } finally {
    await c.close();
    await node.close();
    await tower.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
