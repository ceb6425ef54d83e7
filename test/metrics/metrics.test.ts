/**
 * Issue 17's metrics: `--metrics-listen` serves Prometheus text that a strict parser of the format
 * accepts as a whole, and whose figures are the node's: after a channel opens between two anode nodes
 * on btcd regtest, a scrape shows the channel in CHANNELD_NORMAL, the peer, the balances, the chain
 * height and lag, the tower's and the watchtower client's figures, and the API calls made through both
 * shells (CLN JSON-RPC and LND REST) counted and timed by method.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rest, type TestLndRpc } from '../rpc/lnd/harness.js';
import { rpcCall } from '../rpc/harness.js';
import { parsePromText, PromTextError, sampleValue } from './prom-text.js';

function fetchText(port: number, path: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
    }).on('error', reject);
  });
}

describe('the strict Prometheus text parser (so the scrape check can fail)', () => {
  it('accepts a well-formed page and refuses each kind of malformed one', () => {
    const good = '# HELP x_total Things.\n# TYPE x_total counter\nx_total{a="b\\"c"} 3\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\n';
    assert.equal(sampleValue(parsePromText(good), 'x_total', { a: 'b"c' }), 3);
    for (const bad of [
      'x 1\n', // no TYPE
      '# TYPE x gauge\nx 1', // no final newline
      '# TYPE x gauge\nx 1\nx 2\n', // series twice
      '# TYPE x gauge\n# TYPE x gauge\nx 1\n', // TYPE twice
      '# TYPE x gauge\nx{a="1",a="2"} 1\n', // label twice
      '# TYPE x gauge\nx{a="\\t"} 1\n', // bad escape
      '# TYPE x gauge\nx one\n', // bad value
      '# TYPE x gauge\n9x 1\n', // bad name
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', // no +Inf
    ]) {
      assert.throws(() => parsePromText(bad), PromTextError, JSON.stringify(bad));
    }
  });

  it('property: random and mutated pages either parse or fail with PromTextError (no crash, no hang)', () => {
    const base = '# HELP a A.\n# TYPE a gauge\na{x="1"} 2\n';
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.tuple(fc.nat(base.length), fc.string()).map(([i, s]) => base.slice(0, i) + s + base.slice(i))), (text) => {
        try {
          parsePromText(text);
        } catch (e) {
          if (!(e instanceof PromTextError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

const btcd = useBtcd('metrics');

describe('--metrics-listen on btcd regtest', { skip: btcd.skip, timeout: 180_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    if (btcd.skip) return;
    a = await startNode(btcd.node, { extra: ['--metrics-listen=127.0.0.1:0', '--watchtower.active', '--watchtower.listen=127.0.0.1:0', '--wtclient.active'] });
    b = await startNode(btcd.node);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('a scrape after a channel opens shows the channel, the peer, the balances, the chain and the API calls; the whole page parses', async () => {
    assert.equal(b.node.metrics, undefined, 'no listener without --metrics-listen');
    const port = a.node.metrics!.address.port;
    await fundWallet(btcd.node, a, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, pushMsat: 10_000_000n, feeratePerKw: 1000 });
    await btcd.node.mineUntil(() => a.channels.list()[0]?.data.state === 'CHANNELD_NORMAL' && b.channels.list()[0]?.data.state === 'CHANNELD_NORMAL', 'both NORMAL');

    // One call through each shell, then the scrape.
    assert.ok((await rpcCall(join(a.dir, 'regtest', 'lightning-rpc'), 'getinfo')).result);
    const lnd = a.node.lnd!;
    const t = { admin: readFileSync(lnd.adminMacaroonPath), cert: lnd.certPem, restPort: lnd.rest[0]!.port } as unknown as TestLndRpc;
    assert.equal((await rest(t, 'GET', '/v1/getinfo')).status, 200);
    const height = await btcd.node.getBlockCount();
    await until(() => a.channels.tip?.height === height, { what: 'a at the tip', timeoutMs: 20_000 });

    const page = await fetchText(port, '/metrics');
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/plain; version=0\.0\.4/);
    const m = parsePromText(page.text);
    assert.equal(sampleValue(m, 'anode_channels', { state: 'CHANNELD_NORMAL' }), 1);
    assert.equal(sampleValue(m, 'anode_peers_connected'), 1);
    // The balances are the APIs' (LND's ChannelBalance): the opener's commitment fee and anchors are not ours to spend.
    const ch = a.channels.list()[0]!.data.localCommit.spec;
    const bal = (await rest(t, 'GET', '/v1/balance/channels')).body as { local_balance: { msat: string }; remote_balance: { msat: string } };
    assert.equal(sampleValue(m, 'anode_channel_balance_msat', { side: 'local' }), Number(bal.local_balance.msat));
    assert.equal(sampleValue(m, 'anode_channel_balance_msat', { side: 'remote' }), Number(bal.remote_balance.msat));
    assert.ok(Number(bal.local_balance.msat) < Number(ch.toLocalMsat), 'the opener pays the commitment fee');
    assert.equal(Number(bal.remote_balance.msat), Number(ch.toRemoteMsat));
    assert.equal(sampleValue(m, 'anode_htlcs_in_flight', { direction: 'out' }), 0);
    const funds = await a.node.wallet!.listFunds();
    assert.equal(sampleValue(m, 'anode_wallet_balance_sat', { status: 'confirmed' }), Number(funds.filter((o) => o.status === 'confirmed').reduce((s, o) => s + o.amountSat, 0n)));
    assert.equal(sampleValue(m, 'anode_chain_height'), height);
    assert.equal(sampleValue(m, 'anode_chain_backend_height'), height);
    assert.equal(sampleValue(m, 'anode_chain_lag_blocks'), 0);
    assert.equal(sampleValue(m, 'anode_tower_sessions'), 0);
    assert.equal(sampleValue(m, 'anode_wtclient_backups', { status: 'pending' }), 0);
    assert.equal(sampleValue(m, 'anode_rpc_calls_total', { shell: 'cln', method: 'getinfo', result: 'ok' }), 1);
    assert.equal(sampleValue(m, 'anode_rpc_calls_total', { shell: 'lnd', method: 'GetInfo', result: 'ok' }), 1);
    assert.equal(sampleValue(m, 'anode_rpc_call_duration_seconds_count', { shell: 'cln', method: 'getinfo' }), 1);
    assert.ok(m.has('process_cpu_seconds_total'), 'the process metrics too');

    // An invoice of B's paid by A: the invoice book and the payment records are on the page, by status.
    const bRpc = join(b.dir, 'regtest', 'lightning-rpc');
    const aRpc = join(a.dir, 'regtest', 'lightning-rpc');
    const inv = (await rpcCall(bRpc, 'invoice', { amount_msat: 1_000_000, label: 'metrics', description: 'metrics' })).result as { bolt11: string };
    await rpcCall(aRpc, 'invoice', { amount_msat: 5_000, label: 'a-unpaid', description: 'not paid' });
    assert.equal(sampleValue(parsePromText((await fetchText(port, '/metrics')).text), 'anode_invoices', { status: 'unpaid' }), 1);
    await rpcCall(aRpc, 'pay', { bolt11: inv.bolt11 });
    const pays = async () => ((await rpcCall(aRpc, 'listpays', {})).result as { pays: { status: string }[] }).pays;
    await until(async () => (await pays()).length === 1 && (await pays())[0]!.status !== 'pending', { what: 'the payment decided', timeoutMs: 30_000 });
    const decided = (await pays())[0]!.status;
    const after = parsePromText((await fetchText(port, '/metrics')).text);
    assert.equal(sampleValue(after, 'anode_payments', { status: decided }), 1, `one ${decided} payment`);

    // The chain moves: the next scrape follows.
    await btcd.node.generate(1);
    await until(() => a.channels.tip?.height === height + 1, { what: 'a one block on', timeoutMs: 20_000 });
    assert.equal(sampleValue(parsePromText((await fetchText(port, '/metrics')).text), 'anode_chain_height'), height + 1);
    assert.equal((await fetchText(port, '/')).status, 404);
  });
});
