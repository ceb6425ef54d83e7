/**
 * The watchtower client as the daemon runs it (--wtclient.active) against anode's tower in a second
 * daemon (--watchtower.active): AddTower through anode-cli negotiates one session per client type at
 * once (§2.3); TerminateSession through LND's REST, gRPC (grpc-js with proto/wtclientrpc) and anode-cli,
 * each with LND's status text; terminated sessions stay terminal across a restart and are never
 * candidates again; ln-service's getConnectedWatchtowers sees the tower; deactivate and remove with
 * lncli's outputs.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers.js';
import { cli, cliJson, startDaemon, type Daemon } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

const portOf = (addr: string): number => Number(addr.split(':').at(-1));
const creds = (d: Daemon) => ({
  cert: readFileSync(join(d.dir, 'regtest', 'tls.cert')),
  macaroon: readFileSync(join(d.dir, 'regtest', 'admin.macaroon')),
});

function rest(d: Daemon, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const { cert, macaroon } = creds(d);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: portOf((d.line.rest as string[])[0]!),
        method,
        path,
        ca: cert,
        servername: 'localhost',
        headers: { 'Grpc-Metadata-macaroon': macaroon.toString('hex') },
      },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

type GrpcClient = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, opts: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;

/** wtclientrpc.WatchtowerClient from the project's .proto, as any grpc-js user would load it. */
function wtclientGrpc(d: Daemon): { client: GrpcClient; call: (method: string, req: unknown) => Promise<Record<string, unknown>> } {
  const def = loadSync('wtclientrpc/wtclient.proto', { includeDirs: [join(repoRoot, 'proto')], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const S = (grpc.loadPackageDefinition(def) as any).wtclientrpc.WatchtowerClient as grpc.ServiceClientConstructor;
  const { cert, macaroon } = creds(d);
  const client = new S(`127.0.0.1:${portOf((d.line.grpc as string[])[0]!)}`, grpc.credentials.createSsl(cert), { 'grpc.ssl_target_name_override': 'localhost' }) as unknown as GrpcClient;
  const call = (method: string, req: unknown): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('macaroon', macaroon.toString('hex'));
      client[method]!(req, md, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>)));
    });
  return { client, call };
}

interface TowerJson {
  pubkey: string;
  addresses: string[];
  active_session_candidate: boolean;
  num_sessions: number;
  session_info: { policy_type: string; active_session_candidate: boolean; num_sessions: number; sessions: { id: string; num_backups: number; max_backups: number }[] }[];
}

/** How long the sessions take to appear: they are negotiated at once, so 10 s is plenty. */
const SESSIONS_WAIT = { timeoutMs: 10_000, intervalMs: 50 } as const;

/** Session ids held by the tower (A's own database, read-only while A runs). */
function towerSessionIds(a: Daemon): Set<string> {
  const db = new Database(join(a.dir, 'regtest', 'watchtower.sqlite3'), { readonly: true, fileMustExist: true });
  try {
    return new Set((db.prepare('SELECT id FROM tower_sessions').all() as { id: Buffer }[]).map((r) => r.id.toString('hex')));
  } finally {
    db.close();
  }
}

/** B's session statuses (0 active, 1 terminal), from its database while B is stopped. */
function clientSessionStatus(b: Daemon): Map<string, number> {
  const db = new Database(join(b.dir, 'regtest', 'anode.sqlite3'), { readonly: true, fileMustExist: true });
  try {
    return new Map((db.prepare('SELECT id, status FROM wtc_sessions').all() as { id: Buffer; status: number }[]).map((r) => [r.id.toString('hex'), r.status]));
  } finally {
    db.close();
  }
}

describe('watchtower client in the daemon, against anode’s tower', { timeout: 60_000 }, () => {
  it('add → a session per client type; TerminateSession over REST, gRPC and anode-cli; restart; ln-service; deactivate; remove', async () => {
    const started = await Promise.all([startDaemon(['--watchtower.active', '--watchtower.listen=127.0.0.1:0']), startDaemon(['--wtclient.active'])]);
    const a = started[0];
    let b = started[1];
    let grpcClient: GrpcClient | undefined;
    try {
      const info = await cliJson<{ pubkey: string; listeners: string[] }>(a.dir, 'tower', 'info');
      const towerPub = info.pubkey;
      const towerAddr = `127.0.0.1:${portOf(info.listeners[0]!)}`;

      // AddTower through anode-cli: lncli prints the empty AddTowerResponse.
      assert.deepEqual(await cliJson(b.dir, 'wtclient', 'add', `${towerPub}@${towerAddr}`), {});
      // One session per client type, negotiated at once with no backup asked for.
      const t1 = await until(async () => {
        const t = await cliJson<TowerJson>(b.dir, 'wtclient', 'tower', towerPub, '--include_sessions');
        return t.session_info.every((i) => i.sessions.length === 1) && t;
      }, { what: 'a session per client type', ...SESSIONS_WAIT });
      assert.deepEqual(t1.addresses, [towerAddr]);
      assert.deepEqual(
        t1.session_info.map((i) => i.policy_type),
        ['LEGACY', 'ANCHOR', 'TAPROOT', 'TAPROOT'],
      );
      assert.equal(t1.num_sessions, 4);
      assert.ok(t1.active_session_candidate);
      const ids = t1.session_info.map((i) => i.sessions[0]!.id);
      assert.equal(new Set(ids).size, 4);
      for (const i of t1.session_info) assert.deepEqual([i.sessions[0]!.num_backups, i.sessions[0]!.max_backups], [0, 1024]);
      // The tower holds them (CreateSession reached A's database).
      const atTower = towerSessionIds(a);
      for (const id of ids) assert.ok(atTower.has(id), `session ${id} at the tower`);
      assert.equal(atTower.size, 4);
      const [legacy, anchor, taproot] = ids as [string, string, string, string];

      // 1. REST, the id in URL-safe base64 in the path: LND's status text.
      const b64url = Buffer.from(legacy, 'hex').toString('base64url');
      const r1 = await rest(b, 'POST', `/v2/watchtower/client/sessions/terminate/${b64url}`);
      assert.deepEqual([r1.status, r1.body], [200, { status: `Successful termination of session: ${legacy}` }]);
      // Idempotent on a terminal session; unknown session → LND's error, gateway shape.
      const again = await rest(b, 'POST', `/v2/watchtower/client/sessions/terminate/${b64url}`);
      assert.deepEqual([again.status, again.body], [200, { status: `Successful termination of session: ${legacy}` }]);
      const unknown = await rest(b, 'POST', `/v2/watchtower/client/sessions/terminate/${Buffer.from(towerPub, 'hex').toString('base64url')}`);
      assert.deepEqual([unknown.status, unknown.body], [500, { code: 2, message: 'client session not found', details: [] }]);

      // 2. gRPC (grpc-js with proto/wtclientrpc): ln-service has no TerminateSession.
      const g = wtclientGrpc(b);
      grpcClient = g.client;
      assert.deepEqual(await g.call('TerminateSession', { session_id: Buffer.from(anchor, 'hex') }), { status: `Successful termination of session: ${anchor}` });
      await assert.rejects(g.call('TerminateSession', { session_id: Buffer.from('02', 'hex') }), (e: grpc.ServiceError) => e.code === grpc.status.UNKNOWN);

      // 3. anode-cli (lncli's `wtclient session terminate <hex>`).
      assert.deepEqual(await cliJson(b.dir, 'wtclient', 'session', 'terminate', taproot), { status: `Successful termination of session: ${taproot}` });

      // Each terminated client type gets a new session at once (LND: the active queue is replaced).
      const t2 = await until(async () => {
        const t = await cliJson<TowerJson>(b.dir, 'wtclient', 'tower', towerPub, '--include_sessions');
        return t.num_sessions === 7 && t;
      }, { what: 'replacements', ...SESSIONS_WAIT });
      assert.deepEqual(
        t2.session_info.map((i) => i.num_sessions),
        [2, 2, 2, 1],
      );
      const replacements = t2.session_info.flatMap((i) => i.sessions.map((s) => s.id)).filter((id) => !ids.includes(id));
      assert.equal(replacements.length, 3);
      assert.equal(towerSessionIds(a).size, 7, 'terminate sent nothing to the tower; it holds every session');

      // ln-service's getConnectedWatchtowers (ListTowers + Stats + Policy over gRPC) sees the tower.
      const { cert, macaroon } = creds(b);
      const { lnd } = ln.authenticatedLndGrpc({ cert: cert.toString('base64'), macaroon: macaroon.toString('base64'), socket: `127.0.0.1:${portOf((b.line.grpc as string[])[0]!)}` });
      const watch = await ln.getConnectedWatchtowers({ lnd });
      assert.equal(watch.towers.length, 1);
      assert.equal(watch.towers[0].public_key, towerPub);
      assert.equal(watch.towers[0].is_active, true);
      assert.deepEqual(watch.towers[0].sockets, [towerAddr]);
      assert.equal(watch.towers[0].sessions.length, 7);
      assert.equal(watch.max_session_update_count, 1024);
      assert.equal(watch.sweep_tokens_per_vbyte, 10);
      assert.equal(watch.sessions_count, 7, 'sessions acquired since start-up');
      assert.equal(watch.backups_count, 0);

      // Restart B: the three stay terminal on disk, and nothing new is negotiated (each type has a
      // usable session; the terminated ones are not it).
      grpcClient.close();
      grpcClient = undefined;
      assert.equal(await b.stop(), 0);
      const status = clientSessionStatus(b);
      assert.deepEqual([legacy, anchor, taproot].map((id) => status.get(id)), [1, 1, 1]);
      assert.deepEqual(ids.slice(3).concat(replacements).map((id) => status.get(id)), [0, 0, 0, 0]);
      b = await startDaemon(['--wtclient.active'], b.dir);
      await sleep(300);
      const stats = await cliJson<{ num_sessions_acquired: number }>(b.dir, 'wtclient', 'stats');
      assert.equal(stats.num_sessions_acquired, 0);
      // Terminate the legacy replacement: its only other legacy session is the terminated one, so a new
      // session is negotiated — proof that the session terminated before the restart is no candidate.
      const legacyNow = t2.session_info[0]!.sessions.map((s) => s.id).find((id) => id !== legacy)!;
      assert.deepEqual(await cliJson(b.dir, 'wtclient', 'session', 'terminate', legacyNow), { status: `Successful termination of session: ${legacyNow}` });
      const t3 = await until(async () => {
        const t = await cliJson<TowerJson>(b.dir, 'wtclient', 'tower', towerPub, '--include_sessions');
        return t.session_info[0]!.num_sessions === 3 && t;
      }, { what: 'a third legacy session', ...SESSIONS_WAIT });
      assert.equal(t3.num_sessions, 8);
      assert.equal((await cliJson<{ num_sessions_acquired: number }>(b.dir, 'wtclient', 'stats')).num_sessions_acquired, 1);
      assert.equal(towerSessionIds(a).size, 8);

      // Deactivate (lncli's status text), then remove (empty response); unknown towers: LND's error.
      assert.deepEqual(await cliJson(b.dir, 'wtclient', 'deactivate', towerPub), { status: `Successful deactivation of tower: ${towerPub}` });
      const inactive = await cliJson<TowerJson>(b.dir, 'wtclient', 'tower', towerPub);
      assert.equal(inactive.active_session_candidate, false);
      assert.ok(inactive.session_info.every((i) => !i.active_session_candidate));
      assert.deepEqual(await cliJson(b.dir, 'wtclient', 'remove', towerPub), {});
      const other = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
      for (const cmd of ['remove', 'deactivate']) {
        const r = await cli(b.dir, 'wtclient', cmd, other);
        assert.equal(r.status, 1);
        assert.match(r.out + r.err, /tower not found/);
      }
      // A removed tower with sessions is kept, inactive, and gets no new sessions.
      const removed = await cliJson<{ towers: TowerJson[] }>(b.dir, 'wtclient', 'towers');
      assert.deepEqual(
        removed.towers.map((t) => [t.pubkey, t.active_session_candidate]),
        [[towerPub, false]],
      );
      await sleep(200);
      assert.equal(towerSessionIds(a).size, 8);
    } finally {
      grpcClient?.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
