/**
 * Every wtclientrpc management operation and its errors through gRPC (grpc-js with proto/wtclientrpc)
 * and REST, in process: a WatchtowerClient on SQLite with anode's real tower, behind startLndRpc.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoDir } from '../../../src/rpc/lnd/methods.js';
import { rest, startTestLndRpc, type TestLndRpc } from '../../rpc/lnd/harness.js';
import { startTower, TOWER_KEY, type TestTower } from '../server/client.js';
import { tempDir } from '../../harness/daemon.js';
import { breachFor, channelId, startClient, type TestClient } from '../client/helpers.js';
import { until } from '../../harness/wait.js';

type GrpcClient = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, opts: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;
type Res = Record<string, unknown>;

const OTHER = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

describe('wtclientrpc over gRPC and REST (in-process WatchtowerClient + real tower)', () => {
  let t: TestLndRpc;
  let tower: TestTower;
  let c: TestClient;
  let dir: string;
  let g: GrpcClient;
  const pk = TOWER_KEY.publicKey;
  const pkHex = pk.toString('hex');
  const call = (method: string, req: unknown): Promise<Res> =>
    new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('macaroon', t.admin.toString('hex'));
      g[method]!(req, md, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res as Res)));
    });
  const fails = async (method: string, req: unknown): Promise<{ code: number; details: string }> => {
    try {
      await call(method, req);
    } catch (e) {
      const err = e as grpc.ServiceError;
      return { code: err.code, details: err.details };
    }
    assert.fail(`${method} should fail`);
  };
  const restErr = (r: { status: number; body: Res }, message: string): void => {
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.deepEqual(r.body, { code: 2, message, details: [] });
  };

  before(async () => {
    dir = tempDir('anode-wtclient-');
    tower = await startTower();
    c = await startClient(join(dir, 'anode.sqlite3'), { maxUpdates: 3, tuning: { commitmentTypes: ['legacy', 'anchor', 'taproot', 'taproot-final'] } });
    t = await startTestLndRpc({ watchtowerClient: c.client });
    const def = loadSync('wtclientrpc/wtclient.proto', { includeDirs: [protoDir()], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const S = (grpc.loadPackageDefinition(def) as any).wtclientrpc.WatchtowerClient as grpc.ServiceClientConstructor;
    g = new S(t.grpcAddr, grpc.credentials.createSsl(Buffer.from(t.cert)), { 'grpc.ssl_target_name_override': 'localhost' }) as unknown as GrpcClient;
  });
  after(async () => {
    g?.close();
    await t?.close();
    await c?.close();
    await tower?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('AddTower: success shape on both; LND errors for a bad pubkey and a bad address', async () => {
    assert.deepEqual(await call('AddTower', { pubkey: pk, address: `127.0.0.1:${tower.port}` }), {});
    // A second address through REST (newest first).
    const r = await rest(t, 'POST', '/v2/watchtower/client', { body: { pubkey: pk.toString('base64'), address: '127.0.0.2:9911' } });
    assert.deepEqual([r.status, r.body], [200, {}]);
    const bad = await fails('AddTower', { pubkey: Buffer.alloc(33, 1), address: '127.0.0.1' });
    assert.equal(bad.code, grpc.status.UNKNOWN);
    assert.match(bad.details, /pubkey|invalid/i);
    const badAddr = await fails('AddTower', { pubkey: pk, address: '127.0.0.1:99999' });
    assert.equal(badAddr.details, 'invalid address 127.0.0.1:99999: address 127.0.0.1:99999: invalid port');
    const rb = await rest(t, 'POST', '/v2/watchtower/client', { body: { pubkey: pk.toString('base64'), address: '127.0.0.1:99999' } });
    restErr(rb, 'invalid address 127.0.0.1:99999: address 127.0.0.1:99999: invalid port');
    await until(async () => (await c.client.stats()).numSessionsAcquired === 4, 'a session per client type');
  });

  it('ListTowers and GetTowerInfo: include_sessions, exclude_exhausted_sessions, same shape on gRPC and REST', async () => {
    // Fill the legacy session (max-updates 3) and one more: one exhausted session, a second one.
    for (let h = 1; h <= 4; h++) await c.client.backupState(channelId(1), h, breachFor(1, h));
    await until(async () => (await tower.store.counts()).updates === 4, '4 acked');
    await until(async () => (await c.client.listTowers({ includeSessions: false, excludeExhaustedSessions: false }))[0]!.sessionInfo[0]!.numSessions === 2, 'legacy sessions');
    const all = await call('ListTowers', { include_sessions: true });
    const tw = (all.towers as Res[])[0]!;
    assert.deepEqual(Buffer.from(tw.pubkey as Buffer).toString('hex'), pkHex);
    assert.deepEqual(tw.addresses, ['127.0.0.2:9911', `127.0.0.1:${tower.port}`]);
    const infos = tw.session_info as Res[];
    assert.deepEqual(
      infos.map((i) => i.policy_type),
      ['LEGACY', 'ANCHOR', 'TAPROOT', 'TAPROOT'],
    );
    const legacy = infos[0]!.sessions as Res[];
    assert.equal(legacy.length, 2);
    assert.deepEqual(legacy.map((s) => [s.num_backups, s.num_pending_backups, s.max_backups, s.sweep_sat_per_vbyte]).sort(), [
      [1, 0, 3, 10],
      [3, 0, 3, 10],
    ]);
    assert.equal(tw.num_sessions, 2, 'deprecated top-level count: the first client type');
    assert.equal((tw.sessions as Res[]).length, 5, 'deprecated sessions: concatenated');
    const noEx = await call('ListTowers', { include_sessions: true, exclude_exhausted_sessions: true });
    const legacyNoEx = ((noEx.towers as Res[])[0]!.session_info as Res[])[0]!;
    assert.equal(legacyNoEx.num_sessions, 1);
    assert.deepEqual((legacyNoEx.sessions as Res[]).map((s) => s.num_backups), [1]);
    const bare = await call('ListTowers', {});
    assert.deepEqual(((bare.towers as Res[])[0]!.session_info as Res[]).map((i) => (i.sessions as unknown[]).length), [0, 0, 0, 0]);
    // REST: the same, snake_case, bytes base64.
    const r = await rest(t, 'GET', '/v2/watchtower/client?include_sessions=true&exclude_exhausted_sessions=true', { macaroon: t.readonly });
    assert.equal(r.status, 200);
    const rt = (r.body.towers as Res[])[0]!;
    assert.equal(rt.pubkey, pk.toString('base64'));
    assert.equal(((rt.session_info as Res[])[0]!.sessions as Res[]).length, 1);
    // GetTowerInfo.
    const info = await call('GetTowerInfo', { pubkey: pk, include_sessions: true });
    assert.deepEqual(info, tw);
    const ri = await rest(t, 'GET', `/v2/watchtower/client/info/${pk.toString('base64url')}?include_sessions=true`);
    assert.equal(ri.status, 200);
    assert.deepEqual(ri.body.addresses, tw.addresses);
    assert.equal(((ri.body.session_info as Res[])[0]!.sessions as Res[]).length, 2);
    assert.equal((await fails('GetTowerInfo', { pubkey: Buffer.from(OTHER, 'hex') })).details, 'tower not found');
    restErr(await rest(t, 'GET', `/v2/watchtower/client/info/${Buffer.from(OTHER, 'hex').toString('base64url')}`), 'tower not found');
  });

  it('Stats and Policy', async () => {
    const st = await call('Stats', {});
    assert.deepEqual(st, { num_backups: 4, num_pending_backups: 0, num_failed_backups: 0, num_sessions_acquired: 5, num_sessions_exhausted: 1 });
    const rs = await rest(t, 'GET', '/v2/watchtower/client/stats');
    assert.deepEqual([rs.status, rs.body], [200, st]);
    for (const [type, q] of [['LEGACY', ''], ['ANCHOR', '?policy_type=ANCHOR'], ['TAPROOT', '?policy_type=TAPROOT']] as const) {
      assert.deepEqual(await call('Policy', { policy_type: type }), { max_updates: 3, sweep_sat_per_byte: 10, sweep_sat_per_vbyte: 10 });
      const rp = await rest(t, 'GET', `/v2/watchtower/client/policy${q}`);
      assert.deepEqual([rp.status, rp.body], [200, { max_updates: 3, sweep_sat_per_byte: 10, sweep_sat_per_vbyte: 10 }]);
    }
    const unk = await fails('Policy', { policy_type: 7 });
    assert.match(unk.details, /unknown policy type/);
  });

  it('TerminateSession: LND status string, idempotent, not found, bad id; new backups go to a new session', async () => {
    const info = await c.client.getTowerInfo(pk, { includeSessions: true, excludeExhaustedSessions: true });
    const sid = info.sessionInfo[0]!.sessions[0]!.id;
    const hex = sid.toString('hex');
    assert.deepEqual(await call('TerminateSession', { session_id: sid }), { status: `Successful termination of session: ${hex}` });
    const again = await rest(t, 'POST', `/v2/watchtower/client/sessions/terminate/${sid.toString('base64url')}`);
    assert.deepEqual([again.status, again.body], [200, { status: `Successful termination of session: ${hex}` }]);
    assert.equal((await fails('TerminateSession', { session_id: Buffer.from(OTHER, 'hex') })).details, 'client session not found');
    restErr(await rest(t, 'POST', `/v2/watchtower/client/sessions/terminate/${Buffer.from(OTHER, 'hex').toString('base64url')}`), 'client session not found');
    const badId = await fails('TerminateSession', { session_id: Buffer.alloc(5) });
    assert.equal(badId.code, grpc.status.UNKNOWN);
    await c.client.backupState(channelId(1), 5, breachFor(1, 5));
    await until(async () => (await tower.store.counts()).updates === 5, '5 at the tower');
    const after = await c.client.getTowerInfo(pk, { includeSessions: true, excludeExhaustedSessions: true });
    const live = after.sessionInfo[0]!.sessions;
    assert.ok(!live.some((s) => s.id.equals(sid) && s.numBackups === 2), 'the terminated session took nothing more');
  });

  it('RemoveTower one address (gRPC and REST), never the last; errors', async () => {
    assert.deepEqual(await call('RemoveTower', { pubkey: pk, address: '127.0.0.2:9911' }), {});
    const last = await rest(t, 'DELETE', `/v2/watchtower/client/${pk.toString('base64url')}?address=${encodeURIComponent(`127.0.0.1:${tower.port}`)}`);
    restErr(last, 'cannot remove last tower address');
    assert.equal((await fails('RemoveTower', { pubkey: pk, address: `127.0.0.1:${tower.port}` })).details, 'cannot remove last tower address');
    assert.equal((await fails('RemoveTower', { pubkey: Buffer.from(OTHER, 'hex') })).details, 'tower not found');
    restErr(await rest(t, 'DELETE', `/v2/watchtower/client/${Buffer.from(OTHER, 'hex').toString('base64url')}`), 'tower not found');
  });

  it('DeactivateTower: LND status string over gRPC and REST, idempotent, tower not found; then RemoveTower whole', async () => {
    assert.deepEqual(await call('DeactivateTower', { pubkey: pk }), { status: `Successful deactivation of tower: ${pkHex}` });
    const r = await rest(t, 'POST', `/v2/watchtower/client/tower/deactivate/${pk.toString('base64url')}`);
    assert.deepEqual([r.status, r.body], [200, { status: `Successful deactivation of tower: ${pkHex}` }]);
    const tw = await call('GetTowerInfo', { pubkey: pk });
    assert.deepEqual((tw.session_info as Res[]).map((i) => i.active_session_candidate), [false, false, false, false]);
    assert.equal((await fails('DeactivateTower', { pubkey: Buffer.from(OTHER, 'hex') })).details, 'tower not found');
    restErr(await rest(t, 'POST', `/v2/watchtower/client/tower/deactivate/${Buffer.from(OTHER, 'hex').toString('base64url')}`), 'tower not found');
    // Remove the whole tower (REST), then it is gone on both.
    const del = await rest(t, 'DELETE', `/v2/watchtower/client/${pk.toString('base64url')}`);
    assert.deepEqual([del.status, del.body], [200, {}]);
    const towers = await call('ListTowers', {});
    assert.ok(
      (towers.towers as Res[]).every((x) => (x.session_info as Res[]).every((i) => i.active_session_candidate === false)),
      'a removed tower with sessions stays listed, inactive (LND)',
    );
    // Re-add through gRPC: active again.
    await call('AddTower', { pubkey: pk, address: `127.0.0.1:${tower.port}` });
    const back = await call('GetTowerInfo', { pubkey: pk });
    assert.deepEqual((back.session_info as Res[]).map((i) => i.active_session_candidate), [true, true, true, true]);
  });

  it('watchtower client not active: every method, gRPC and REST', async () => {
    const off = await startTestLndRpc();
    try {
      const o = g;
      const S = o.constructor as unknown as new (...a: unknown[]) => GrpcClient;
      const g2 = new S(off.grpcAddr, grpc.credentials.createSsl(Buffer.from(off.cert)), { 'grpc.ssl_target_name_override': 'localhost' });
      for (const [m, req] of [
        ['AddTower', { pubkey: pk, address: '127.0.0.1' }],
        ['RemoveTower', { pubkey: pk }],
        ['DeactivateTower', { pubkey: pk }],
        ['TerminateSession', { session_id: pk }],
        ['ListTowers', {}],
        ['GetTowerInfo', { pubkey: pk }],
        ['Stats', {}],
        ['Policy', {}],
      ] as const) {
        const err = await new Promise<grpc.ServiceError | null>((resolve) => {
          const md = new grpc.Metadata();
          md.set('macaroon', off.admin.toString('hex'));
          g2[m]!(req, md, { deadline: Date.now() + 5000 }, (e) => resolve(e));
        });
        assert.equal(err?.details, 'watchtower client not active', m);
      }
      g2.close();
      const restOff = async (method: string, path: string, body?: unknown): Promise<void> =>
        restErr(await rest(off, method, path, body === undefined ? {} : { body }), 'watchtower client not active');
      await restOff('GET', '/v2/watchtower/client/stats');
      await restOff('GET', '/v2/watchtower/client');
      await restOff('GET', '/v2/watchtower/client/policy');
      await restOff('POST', '/v2/watchtower/client', { pubkey: pk.toString('base64'), address: '127.0.0.1' });
      await restOff('DELETE', `/v2/watchtower/client/${pk.toString('base64url')}`);
      await restOff('GET', `/v2/watchtower/client/info/${pk.toString('base64url')}`);
      await restOff('POST', `/v2/watchtower/client/tower/deactivate/${pk.toString('base64url')}`);
      await restOff('POST', `/v2/watchtower/client/sessions/terminate/${pk.toString('base64url')}`);
    } finally {
      await off.close();
    }
  });
});
