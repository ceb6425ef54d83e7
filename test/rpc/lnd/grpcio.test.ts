/**
 * grpcio (Python, the C-core gRPC stack, PyPI) against anode's LND gRPC, with stubs generated from
 * anode's proto/ by grpc_tools.protoc at test time: a different gRPC implementation than ours.
 * Needs `pip install grpcio grpcio-tools` (ANODE_PYTHON, default python3). Without them the suite is
 * skipped loudly, unless ANODE_REQUIRE_INTEROP=1 (CI), where it fails.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPeerManager, staticKey, type TestPeerManager } from '../../harness/daemon.js';
import { generatePythonStubs, grpcioMissing, runPython, startTestLndRpc, type TestLndRpc } from './harness.js';

const required = process.env.ANODE_REQUIRE_INTEROP === '1';

const CLIENT = `
import json, sys, grpc
sys.path.insert(0, sys.argv[1])
import lightning_pb2 as ln, lightning_pb2_grpc as lng
from wtclientrpc import wtclient_pb2 as wt, wtclient_pb2_grpc as wtg
from watchtowerrpc import watchtower_pb2 as tw, watchtower_pb2_grpc as twg
addr, cert, admin, ro, peer_pub, peer_host = sys.argv[2:8]
ch = grpc.secure_channel(addr, grpc.ssl_channel_credentials(root_certificates=open(cert, 'rb').read()))
L, W, T = lng.LightningStub(ch), wtg.WatchtowerClientStub(ch), twg.WatchtowerStub(ch)
out = {}
def run(name, fn, mac):
    try:
        r = fn(metadata=[('macaroon', mac)], timeout=10)
        out[name] = {'ok': True, 'res': r}
    except grpc.RpcError as e:
        out[name] = {'ok': False, 'code': e.code().name, 'details': e.details()}
info = L.GetInfo(ln.GetInfoRequest(), metadata=[('macaroon', admin)], timeout=10)
out['getinfo'] = {'pub': info.identity_pubkey, 'chains': [c.network for c in info.chains], 'features': sorted(info.features.keys()), 'version': info.version}
run('connect', lambda **k: L.ConnectPeer(ln.ConnectPeerRequest(addr=ln.LightningAddress(pubkey=peer_pub, host=peer_host), perm=False, timeout=5), **k).status, admin)
run('list', lambda **k: [(p.pub_key, p.address, p.inbound) for p in L.ListPeers(ln.ListPeersRequest(), **k).peers], admin)
run('ro_disconnect', lambda **k: L.DisconnectPeer(ln.DisconnectPeerRequest(pub_key=peer_pub), **k).status, ro)
run('disconnect', lambda **k: L.DisconnectPeer(ln.DisconnectPeerRequest(pub_key=peer_pub), **k).status, admin)
run('tower', lambda **k: T.GetInfo(tw.GetInfoRequest(), **k).pubkey.hex(), admin)
run('wt_stats', lambda **k: W.Stats(wt.StatsRequest(), **k).num_backups, admin)
run('wt_terminate', lambda **k: W.TerminateSession(wt.TerminateSessionRequest(session_id=bytes(33)), **k).status, admin)
run('unimplemented', lambda **k: str(L.SignMessage(ln.SignMessageRequest(), **k)), admin)
run('no_macaroon', lambda **k: L.GetInfo(ln.GetInfoRequest(), timeout=10), admin)
print(json.dumps(out))
`;

describe('grpcio (Python) client with stubs generated from anode proto/', () => {
  const missing = grpcioMissing();
  if (missing) {
    if (required) {
      it('grpcio and grpcio-tools must be importable (ANODE_REQUIRE_INTEROP=1)', () => assert.fail(`ANODE_REQUIRE_INTEROP=1 but grpcio is not usable: ${missing}`));
      return;
    }
    const msg = `GRPCIO NOT AVAILABLE, interop test skipped: ${missing} (pip install grpcio grpcio-tools; set ANODE_REQUIRE_INTEROP=1 to make this fatal)`;
    console.error(`\n*** ${msg} ***\n`);
    it(msg, { skip: msg }, () => undefined);
    return;
  }

  let t: TestLndRpc;
  let peer: TestPeerManager;
  let dir: string;
  before(async () => {
    t = await startTestLndRpc();
    peer = await startPeerManager({ localKey: staticKey(0x43) });
    dir = mkdtempSync(join(tmpdir(), 'anode-grpcio-'));
    generatePythonStubs(dir);
  });
  after(async () => {
    await peer.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GetInfo, ConnectPeer + ListPeers, DisconnectPeer (readonly refused), Watchtower/WatchtowerClient not active, UNIMPLEMENTED', async () => {
    const certFile = join(dir, 'tls.cert');
    writeFileSync(certFile, t.cert);
    const pub = peer.manager.nodeId.toString('hex');
    // Asynchronously: the server under test runs in this process's event loop.
    const r = await runPython(CLIENT, [dir, t.grpcAddr, certFile, t.admin.toString('hex'), t.readonly.toString('hex'), pub, `127.0.0.1:${peer.port}`], 60_000);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, { ok?: boolean; res?: unknown; code?: string; details?: string; pub?: string; chains?: string[]; features?: number[] }>;
    assert.equal(out.getinfo!.pub, t.pm.manager.nodeId.toString('hex'));
    assert.deepEqual(out.getinfo!.chains, ['regtest']);
    assert.ok(out.getinfo!.features!.length > 0);
    assert.deepEqual(out.connect, { ok: true, res: `connection to ${pub}@127.0.0.1:${peer.port} initiated` });
    assert.deepEqual(out.list, { ok: true, res: [[pub, `127.0.0.1:${peer.port}`, false]] });
    assert.deepEqual(out.ro_disconnect, { ok: false, code: 'UNKNOWN', details: 'permission denied' });
    assert.deepEqual(out.disconnect, { ok: true, res: 'disconnect initiated' });
    assert.deepEqual(out.tower, { ok: false, code: 'UNKNOWN', details: 'watchtower not active' });
    assert.deepEqual(out.wt_stats, { ok: false, code: 'UNKNOWN', details: 'watchtower client not active' });
    assert.deepEqual(out.wt_terminate, { ok: false, code: 'UNKNOWN', details: 'watchtower client not active' });
    assert.deepEqual(out.unimplemented, { ok: false, code: 'UNIMPLEMENTED', details: 'method SignMessage not implemented' });
    assert.deepEqual(out.no_macaroon, { ok: false, code: 'UNKNOWN', details: 'expected 1 macaroon, got 0' });
  });
});
