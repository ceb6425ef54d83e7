/**
 * Session status (issue 17): every session is listed as active, exhausted or terminal — by the client
 * core, over CLN JSON-RPC (`wtclient-listtowers`, `wtclient-gettowerinfo`) and by `anode-cli wtclient
 * towers` — and a session that can be deleted shows the height its deletion is due at, which is when it
 * goes: its deletion is delayed by a random number of blocks below `wtclient.session-close-range`
 * (default 288, as LND), not done at the next block.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../src/cli/main.js';
import { tempDir } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { rpcCall, startRpcNode } from '../../rpc/harness.js';
import { startTower, TOWER_KEY } from '../server/client.js';
import { breachFor, channelId, startClient, towerUri } from './helpers.js';

const WITH_SESSIONS = { includeSessions: true, excludeExhaustedSessions: false };

test('sessions show active, exhausted and terminal on the core, JSON-RPC and anode-cli; deletion waits for its scheduled height', async () => {
  const dir = tempDir('anode-wtclient-');
  const tower = await startTower();
  const node = await startRpcNode();
  // The default close range (288 blocks); the random draw fixed at 0.5: deletion due 144 blocks on.
  const c = await startClient(join(dir, 'anode.sqlite3'), { maxUpdates: 2, tuning: { commitmentTypes: ['legacy'], random: () => 0.5 } });
  (node.core as { watchtowerClient?: unknown }).watchtowerClient = c.client;
  const cli = async (...args: string[]): Promise<string> => {
    let out = '';
    const code = await runCli([`--rpc-file=${node.path}`, ...args], { io: { stdout: (t) => (out += t), stderr: () => undefined } });
    assert.equal(code, 0);
    return out;
  };
  try {
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    // Two states fill the first session (exhausted); the third goes to a second one (active).
    for (let h = 1; h <= 3; h++) await c.client.backupState(channelId(1), h, breachFor(1, h));
    await until(async () => (await c.store.wtclient.listSessions()).reduce((a, s) => a + s.numAcked, 0) === 3, 'three acks');
    const statuses = async (): Promise<Map<string, string>> => {
      const [tw] = await c.client.listTowers(WITH_SESSIONS);
      return new Map(tw!.sessionInfo[0]!.sessions.map((s) => [s.id.toString('hex'), s.status]));
    };
    const rows = await c.store.wtclient.listSessions();
    const full = rows.find((s) => s.numAcked === 2)!.id.toString('hex');
    const live = rows.find((s) => s.numAcked === 1)!.id.toString('hex');
    assert.deepEqual(await statuses(), new Map([[full, 'exhausted'], [live, 'active']]));

    await c.client.terminateSession(Buffer.from(live, 'hex'));
    await until(async () => (await statuses()).size === 3, 'a new session for the next backups');
    const next = [...(await statuses()).keys()].find((k) => k !== full && k !== live)!;
    assert.deepEqual(await statuses(), new Map([[full, 'exhausted'], [live, 'terminal'], [next, 'active']]));

    // Over JSON-RPC and anode-cli, the same.
    type Listed = { towers: { session_info: { sessions: { id: string; status: string; delete_height?: number }[] }[] }[] };
    const byRpc = (await rpcCall(node.path, 'wtclient-listtowers', { include_sessions: true })).result as Listed;
    const byCli = JSON.parse(await cli('wtclient', 'towers', '--include_sessions')) as Listed;
    const info = (await rpcCall(node.path, 'wtclient-gettowerinfo', { pubkey: TOWER_KEY.publicKey.toString('hex'), include_sessions: true })).result as Listed['towers'][0];
    for (const sessions of [byRpc.towers[0]!.session_info[0]!.sessions, byCli.towers[0]!.session_info[0]!.sessions, info.session_info[0]!.sessions]) {
      assert.deepEqual(new Map(sessions.map((s) => [s.id, s.status])), await statuses());
    }

    // The channel closes at 1000: both the exhausted and the terminal session become deletable, due at 1000 + 144.
    await c.client.markChannelClosed(channelId(1), 1000);
    await c.client.blockConnected(1000);
    const listed = (await rpcCall(node.path, 'wtclient-listtowers', { include_sessions: true })).result as Listed;
    const due = new Map(listed.towers[0]!.session_info[0]!.sessions.map((s) => [s.id, s.delete_height]));
    assert.deepEqual(due, new Map([[full, 1144], [live, 1144], [next, undefined]]));
    for (const h of [1001, 1002, 1003, 1143]) await c.client.blockConnected(h);
    assert.ok(await tower.store.getSession(Buffer.from(full, 'hex')), 'not deleted before its height');
    await c.client.blockConnected(1144);
    assert.equal(await tower.store.getSession(Buffer.from(full, 'hex')), undefined, 'deleted at the tower at its height');
    assert.equal(await tower.store.getSession(Buffer.from(live, 'hex')), undefined);
    assert.deepEqual(await statuses(), new Map([[next, 'active']]));
  } finally {
    await c.close().catch(() => undefined);
    await node.close();
    await tower.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
