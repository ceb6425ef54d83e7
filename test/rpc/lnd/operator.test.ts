/**
 * An LND operator's day against anode on btcd regtest, through the three kinds of clients LND's users
 * have: ln-service (gRPC, the dashboards' library), grpcio stubs in Python (the streaming calls), and
 * plain HTTPS requests to the REST gateway. One btcd and two anode nodes (A, driven; B, its peer) are
 * shared by the three flows, which run in sequence; every figure checked is one the flow just moved
 * (chain height and hash, balances, channel counts, peers and their byte counters).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addressToScript, btcNetwork } from '../../../src/wallet/index.js';
import { useBtcd } from '../../harness/btcd.js';
import { startNode, type TestNode } from '../../harness/daemon.js';
import { sleep, until } from '../../harness/wait.js';
import { generatePythonStubs, grpcioMissing, rest, restStream, runPython, type RestTarget } from './harness.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

const btcd = useBtcd('LND operator flow (ln-service, grpcio, REST)');
const grpcio = grpcioMissing();
const requireInterop = process.env.ANODE_REQUIRE_INTEROP === '1';

function target(n: TestNode): RestTarget & { grpc: string } {
  const h = n.node.lnd!;
  return { restPort: h.rest[0]!.port, cert: h.certPem, admin: readFileSync(h.adminMacaroonPath), grpc: `127.0.0.1:${h.rpc[0]!.port}` };
}

/** A reversed-bytes txid (LND's chainhash bytes) as the usual hex. */
const txidHex = (b64: string): string => Buffer.from(b64, 'base64').reverse().toString('hex');

describe('LND operator flow on btcd regtest', { skip: btcd.skip, timeout: 900_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  let ta: RestTarget & { grpc: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let lnd: any;
  const t0 = Date.now();
  before(async () => {
    if (btcd.skip) return;
    a = await startNode(btcd.node);
    b = await startNode(btcd.node);
    ta = target(a);
    lnd = ln.authenticatedLndGrpc({ cert: Buffer.from(ta.cert).toString('base64'), macaroon: ta.admin.toString('base64'), socket: ta.grpc }).lnd;
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    console.error(`# LND operator scenario (one btcd, two anodes, three clients): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  const height = (): Promise<number> => btcd.node.getBlockCount();

  it('ln-service: wallet info until synced, addresses, funds, open, list, close, closed, send, utxos — each figure moving', { timeout: 300_000 }, async () => {
    // Ready: the State service, then GetInfo synced to the backend's best block.
    // lnrpc.State is served without a macaroon, as LND serves it before the wallet is unlocked.
    const status = ln.unauthenticatedLndGrpc({ cert: Buffer.from(ta.cert).toString('base64'), socket: ta.grpc }).lnd;
    await until(async () => (await ln.getWalletStatus({ lnd: status })).is_active, { what: 'State SERVER_ACTIVE', timeoutMs: 30_000 });
    const synced = await until(async () => {
      const i = await ln.getWalletInfo({ lnd });
      return i.is_synced_to_chain && i.current_block_height === (await height()) ? i : undefined;
    }, { what: 'GetInfo synced_to_chain at the backend height', timeoutMs: 30_000 });
    assert.equal(synced.current_block_hash, await btcd.node.getBestBlockHash());
    assert.deepEqual(synced.uris, [`${a.id}@127.0.0.1:${a.port}`]);
    assert.equal(synced.peers_count, 0);

    // The chain moves: height and hash follow.
    await btcd.node.generate(1);
    const moved = await until(async () => {
      const i = await ln.getWalletInfo({ lnd });
      return i.current_block_height === synced.current_block_height + 1 && i.is_synced_to_chain ? i : undefined;
    }, { what: 'GetInfo at the new block', timeoutMs: 20_000 });
    assert.equal(moved.current_block_hash, await btcd.node.getBestBlockHash());

    // Addresses of both kinds, then funds to the first, mined.
    const { address } = await ln.createChainAddress({ lnd, format: 'p2wpkh' });
    assert.match(address, /^bcrt1q/);
    const { address: taproot } = await ln.createChainAddress({ lnd, format: 'p2tr' });
    assert.match(taproot, /^bcrt1p/);
    assert.equal((await ln.getChainBalance({ lnd })).chain_balance, 0);
    await btcd.node.fund(addressToScript(address, btcNetwork('regtest')), 3_000_000n);
    await until(async () => (await ln.getChainBalance({ lnd })).chain_balance === 3_000_000, { what: 'chain balance 3 000 000', timeoutMs: 30_000 });
    const fee = await ln.getChainFeeEstimate({ lnd, send_to: [{ address: taproot, tokens: 100_000 }] });
    assert.ok(fee.fee > 0 && fee.tokens_per_vbyte > 0, JSON.stringify(fee));

    // A peer: counts and counters.
    await ln.addPeer({ lnd, public_key: b.id, socket: `127.0.0.1:${b.port}` });
    const [peer] = (await ln.getPeers({ lnd })).peers;
    assert.equal(peer.public_key, b.id);
    assert.ok(peer.bytes_sent > 0 && peer.bytes_received > 0, JSON.stringify(peer));
    assert.equal((await ln.getWalletInfo({ lnd })).peers_count, 1);
    // A ping answered: ping_time is the round trip, no longer -1.
    assert.equal((await rest(ta, 'GET', '/v1/peers')).body.peers instanceof Array, true);
    await a.node.peers.peer(b.id)!.ping();
    const pinged = ((await rest(ta, 'GET', '/v1/peers')).body.peers as { ping_time: string; bytes_sent: string; sync_type: string }[])[0]!;
    assert.ok(Number(pinged.ping_time) >= 0, pinged.ping_time);
    // Both anodes gossip (gossip_queries): each asks the other for new gossip, LND's active sync.
    assert.equal(pinged.sync_type, 'ACTIVE_SYNC');
    assert.ok(Number(pinged.bytes_sent) > peer.bytes_sent, 'bytes_sent grows');

    // Open: pending, then active once mined.
    const opened = await ln.openChannel({ lnd, partner_public_key: b.id, local_tokens: 1_000_000 });
    assert.match(opened.transaction_id, /^[0-9a-f]{64}$/);
    const pending = (await ln.getPendingChannels({ lnd })).pending_channels;
    assert.equal(pending.length, 1);
    assert.equal(pending[0].is_opening, true);
    assert.equal(pending[0].transaction_id, opened.transaction_id);
    assert.equal((await ln.getWalletInfo({ lnd })).pending_channels_count, 1);
    await btcd.node.mineUntil(async () => (await ln.getChannels({ lnd, is_active: true })).channels.length === 1, 'channel active');
    const [ch] = (await ln.getChannels({ lnd })).channels;
    assert.equal(ch.transaction_id, opened.transaction_id);
    assert.equal(ch.capacity, 1_000_000);
    assert.equal(ch.partner_public_key, b.id);
    assert.ok(ch.local_balance > 0 && ch.local_balance < 1_000_000 && ch.remote_balance === 0, JSON.stringify(ch));
    assert.equal(ch.local_balance + ch.commit_transaction_fee + (ch.is_anchor ? 660 : 0), 1_000_000);
    const info = await ln.getWalletInfo({ lnd });
    assert.deepEqual([info.active_channels_count, info.pending_channels_count], [1, 0]);
    assert.equal((await ln.getChannelBalance({ lnd })).channel_balance, ch.local_balance);
    assert.ok((await ln.getChainBalance({ lnd })).chain_balance < 2_000_000);

    // The peer goes away: the channel is inactive; it comes back: active again.
    await a.node.peers.disconnect(Buffer.from(b.id, 'hex'));
    await until(async () => {
      const i = await ln.getWalletInfo({ lnd });
      return i.active_channels_count === 0 && i.peers_count === 0;
    }, { what: 'channel inactive without its peer', timeoutMs: 20_000 });
    assert.equal(((await rest(ta, 'GET', '/v1/getinfo')).body as { num_inactive_channels: number }).num_inactive_channels, 1);
    await ln.addPeer({ lnd, public_key: b.id, socket: `127.0.0.1:${b.port}` });
    await until(async () => (await ln.getWalletInfo({ lnd })).active_channels_count === 1, { what: 'channel active again', timeoutMs: 30_000 });

    // Cooperative close: pending, then closed once mined.
    const closing = await ln.closeChannel({ lnd, transaction_id: opened.transaction_id, transaction_vout: opened.transaction_vout });
    assert.match(closing.transaction_id, /^[0-9a-f]{64}$/);
    await btcd.node.mineUntil(async () => (await ln.getClosedChannels({ lnd })).channels.length === 1, 'channel closed');
    const [closed] = (await ln.getClosedChannels({ lnd })).channels;
    assert.equal(closed.close_transaction_id, closing.transaction_id);
    assert.equal(closed.is_cooperative_close, true);
    assert.equal(closed.capacity, 1_000_000);
    assert.ok(closed.final_local_balance > 990_000 && closed.final_local_balance < 1_000_000, JSON.stringify(closed));
    assert.equal(closed.close_confirm_height, (await btcd.node.minedAt(closing.transaction_id, synced.current_block_height))!.height);
    assert.deepEqual((await ln.getChannels({ lnd })).channels, []);

    // Send on chain to B's wallet; the UTXOs reflect it.
    const { address: toB } = await b.node.wallet!.newAddress('p2wpkh');
    const sent = await ln.sendToChainAddress({ lnd, address: toB, tokens: 250_000 });
    assert.match(sent.id, /^[0-9a-f]{64}$/);
    assert.ok((await btcd.node.getRawMempool()).includes(sent.id));
    await btcd.node.generate(1);
    const { utxos } = await until(async () => {
      const u = await ln.getUtxos({ lnd, min_confirmations: 1 });
      return u.utxos.some((x: { transaction_id: string }) => x.transaction_id === sent.id) ? u : undefined;
    }, { what: 'change of the send among the UTXOs', timeoutMs: 20_000 });
    for (const u of utxos) assert.ok(u.confirmation_count >= 1 && u.tokens > 0 && /^bcrt1/.test(u.address), JSON.stringify(u));
    await until(async () => (await b.node.wallet!.listFunds()).some((o) => o.txid === sent.id && o.amountSat === 250_000n), { what: 'B received', timeoutMs: 20_000 });
  });

  it('grpcio (Python): OpenChannel stream pending → open, CloseChannel force stream pending → confirmed, SubscribeChannelEvents', { skip: grpcio && !requireInterop ? `grpcio not available: ${grpcio}` : false }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anode-operator-py-'));
    try {
      generatePythonStubs(dir);
      const certFile = join(dir, 'tls.cert');
      writeFileSync(certFile, ta.cert);
      const script = `
import json, sys, threading, grpc
sys.path.insert(0, sys.argv[1])
import lightning_pb2 as ln, lightning_pb2_grpc as lng
addr, cert, mac, peer = sys.argv[2:6]
ch = grpc.secure_channel(addr, grpc.ssl_channel_credentials(root_certificates=open(cert, 'rb').read()))
L = lng.LightningStub(ch)
md = [('macaroon', mac)]
events = []
sub = L.SubscribeChannelEvents(ln.ChannelEventSubscription(), metadata=md)
def watch():
    try:
        for e in sub:
            events.append(ln.ChannelEventUpdate.UpdateType.Name(e.type))
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.CANCELLED: events.append('error: ' + str(e.code()))
t = threading.Thread(target=watch, daemon=True)
t.start()
out = {'open': [], 'close': []}
cp = None
for u in L.OpenChannel(ln.OpenChannelRequest(node_pubkey=bytes.fromhex(peer), local_funding_amount=400000, sat_per_vbyte=2), metadata=md, timeout=120):
    kind = u.WhichOneof('update')
    out['open'].append(kind)
    if kind == 'chan_pending':
        out['funding_txid'] = u.chan_pending.txid[::-1].hex()
    if kind == 'chan_open':
        cp = u.chan_open.channel_point
        break
out['active'] = [c.active for c in L.ListChannels(ln.ListChannelsRequest(), metadata=md).channels]
for u in L.CloseChannel(ln.CloseChannelRequest(channel_point=cp, force=True), metadata=md, timeout=120):
    kind = u.WhichOneof('update')
    out['close'].append(kind)
    if kind == 'close_pending':
        out['closing_txid'] = u.close_pending.txid[::-1].hex()
    if kind == 'chan_close':
        out['confirmed_txid'] = u.chan_close.closing_txid[::-1].hex()
        out['success'] = u.chan_close.success
        break
pending = L.PendingChannels(ln.PendingChannelsRequest(), metadata=md)
out['force_closing'] = [(c.closing_txid, c.limbo_balance > 0, c.maturity_height > 0) for c in pending.pending_force_closing_channels]
import time
deadline = time.time() + 20
while time.time() < deadline and 'CLOSED_CHANNEL' not in events:
    time.sleep(0.1)
sub.cancel()
t.join(10)
out['events'] = events
print(json.dumps(out))
`;
      const run = runPython(script, [dir, ta.grpc, certFile, ta.admin.toString('hex'), b.id], 300_000);
      // Blocks while the client waits on its streams (funding and commitment confirmations).
      let done = false;
      void run.finally(() => (done = true));
      while (!done) {
        await btcd.node.generate(1);
        await sleep(700);
      }
      const r = await run;
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        open: string[];
        close: string[];
        funding_txid: string;
        closing_txid: string;
        confirmed_txid: string;
        success: boolean;
        active: boolean[];
        force_closing: [string, boolean, boolean][];
        events: string[];
      };
      assert.deepEqual(out.open, ['chan_pending', 'chan_open']);
      assert.deepEqual(out.active, [true]);
      assert.deepEqual(out.close, ['close_pending', 'chan_close']);
      assert.equal(out.confirmed_txid, out.closing_txid);
      assert.equal(out.success, true);
      // Our own commitment confirmed: our output waits out its delay (a pending force close with limbo).
      assert.deepEqual(out.force_closing, [[out.closing_txid, true, true]]);
      assert.ok(await btcd.node.minedAt(out.funding_txid, 0), 'the funding transaction is mined');
      for (const e of ['PENDING_OPEN_CHANNEL', 'OPEN_CHANNEL', 'ACTIVE_CHANNEL', 'CLOSED_CHANNEL']) assert.ok(out.events.includes(e), `${e} in ${out.events.join(',')}`);
      assert.ok(out.events.indexOf('PENDING_OPEN_CHANNEL') < out.events.indexOf('OPEN_CHANNEL') && out.events.indexOf('OPEN_CHANNEL') < out.events.indexOf('CLOSED_CHANNEL'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('REST: getinfo, state, version, balances, addresses, fee estimates, OpenChannel and CloseChannel streams, channel and peer events, SendCoins send_all, WalletKit, DebugLevel, StopDaemon', { timeout: 300_000 }, async () => {
    const info = await rest(ta, 'GET', '/v1/getinfo');
    assert.equal(info.status, 200);
    assert.equal(info.body.block_height, await height());
    assert.equal(info.body.synced_to_chain, true);
    assert.equal(info.body.wallet_synced, true);
    assert.equal(info.body.graph_cache_status, 'GRAPH_CACHE_STATUS_DISABLED');
    assert.ok(Number(info.body.best_header_timestamp) > 1_600_000_000, String(info.body.best_header_timestamp));
    assert.deepEqual((await rest(ta, 'GET', '/v1/state')).body, { state: 'SERVER_ACTIVE' });
    const state = restStream(ta, 'GET', '/v1/state/subscribe');
    assert.deepEqual(await state.next(() => true, 'a state'), { result: { state: 'SERVER_ACTIVE' } });
    state.close();
    const version = (await rest(ta, 'GET', '/v2/versioner/version')).body;
    assert.match(String(version.version), /^\d+\.\d+\.\d+/);
    assert.equal(typeof version.app_major, 'number');

    const bal = (await rest(ta, 'GET', '/v1/balance/blockchain')).body as Record<string, string>;
    assert.equal(bal.total_balance, String(BigInt(bal.confirmed_balance!) + BigInt(bal.unconfirmed_balance!)));
    assert.ok(BigInt(bal.confirmed_balance!) > 0n);
    const addr = (await rest(ta, 'GET', '/v1/newaddress?type=TAPROOT_PUBKEY')).body.address as string;
    assert.match(addr, /^bcrt1p/);
    const next = (await rest(ta, 'POST', '/v2/wallet/address/next', { body: {} })).body.addr as string;
    assert.match(next, /^bcrt1q/);
    const est = await rest(ta, 'GET', `/v1/transactions/fee?AddrToAmount[${addr}]=50000&target_conf=6`);
    assert.equal(est.status, 200, JSON.stringify(est.body));
    assert.ok(BigInt(est.body.fee_sat as string) > 0n);
    const kitFee = (await rest(ta, 'GET', '/v2/wallet/estimatefee/6')).body;
    assert.ok(BigInt(kitFee.sat_per_kw as string) >= BigInt(kitFee.min_relay_fee_sat_per_kw as string));
    const kitUtxos = (await rest(ta, 'POST', '/v2/wallet/utxos', { body: { min_confs: 1 } })).body.utxos as { amount_sat: string }[];
    const legacyUtxos = (await rest(ta, 'GET', '/v1/utxos?min_confs=1&max_confs=100000')).body.utxos as { amount_sat: string }[];
    assert.deepEqual(kitUtxos, legacyUtxos);
    assert.equal(kitUtxos.reduce((s, u) => s + BigInt(u.amount_sat), 0n), BigInt(bal.confirmed_balance!));

    // Channel events over REST while a channel opens and closes, both streamed.
    const events = restStream(ta, 'GET', '/v1/channels/subscribe');
    // As the gateway, the stream's headers come with its first event: give the subscription a moment to be in place.
    await sleep(1000);
    const open = restStream(ta, 'POST', '/v1/channels/stream', { node_pubkey: Buffer.from(b.id, 'hex').toString('base64'), local_funding_amount: '300000', sat_per_vbyte: '2' });
    const pendingLine = (await open.next((l) => 'result' in l, 'chan_pending')).result as { chan_pending?: { txid: string; output_index: number } };
    assert.ok(pendingLine.chan_pending, JSON.stringify(pendingLine));
    const fundingTxid = txidHex(pendingLine.chan_pending.txid);
    assert.ok((await btcd.node.getRawMempool()).includes(fundingTxid));
    const pend = await rest(ta, 'GET', '/v1/channels/pending');
    assert.equal(pend.status, 200, JSON.stringify(pend.body));
    assert.equal((pend.body.pending_open_channels as unknown[]).length, 1);
    assert.equal(((await rest(ta, 'GET', '/v1/balance/channels')).body.pending_open_local_balance as { sat: string }).sat !== '0', true);
    await btcd.node.mineUntil(() => open.lines.some((l) => (l.result as Record<string, unknown> | undefined)?.chan_open), 'chan_open over REST');
    await open.ended;
    const chans = (await rest(ta, 'GET', '/v1/channels?active_only=true')).body.channels as { channel_point: string; local_balance: string }[];
    assert.deepEqual(chans.map((c) => c.channel_point), [`${fundingTxid}:${pendingLine.chan_pending.output_index}`]);
    const cbal = (await rest(ta, 'GET', '/v1/balance/channels')).body as { local_balance: { sat: string } };
    assert.equal(cbal.local_balance.sat, chans[0]!.local_balance);

    const close = restStream(ta, 'DELETE', `/v1/channels/${fundingTxid}/${pendingLine.chan_pending.output_index}`);
    const closePending = (await close.next((l) => 'result' in l, 'close_pending')).result as { close_pending: { txid: string } };
    const closingTxid = txidHex(closePending.close_pending.txid);
    await btcd.node.mineUntil(() => close.lines.some((l) => (l.result as Record<string, unknown> | undefined)?.chan_close), 'chan_close over REST');
    await close.ended;
    const closedList = (await rest(ta, 'GET', '/v1/channels/closed?cooperative=true')).body.channels as { closing_tx_hash: string; close_type: string }[];
    assert.ok(closedList.some((c) => c.closing_tx_hash === closingTxid && c.close_type === 'COOPERATIVE_CLOSE'), JSON.stringify(closedList));
    await events.next((l) => (l.result as { type?: string } | undefined)?.type === 'CLOSED_CHANNEL', 'CLOSED_CHANNEL event');
    events.close();
    const types = events.lines.map((l) => (l.result as { type: string }).type);
    for (const e of ['PENDING_OPEN_CHANNEL', 'OPEN_CHANNEL', 'CLOSED_CHANNEL']) assert.ok(types.includes(e), types.join(','));

    // Everything to B's wallet with send_all; publishing it again through WalletKit is accepted (known to the backend).
    await btcd.node.generate(1);
    await until(async () => ((await rest(ta, 'GET', '/v1/balance/blockchain')).body as { unconfirmed_balance: string }).unconfirmed_balance === '0', { what: 'no unconfirmed funds', timeoutMs: 20_000 });
    const { address: toB } = await b.node.wallet!.newAddress('p2tr');
    const all = await rest(ta, 'POST', '/v1/transactions', { body: { addr: toB, send_all: true } });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const txid = all.body.txid as string;
    const raw = Buffer.from(await btcd.node.getRawTransaction(txid));
    assert.equal((await rest(ta, 'POST', '/v2/wallet/tx', { body: { tx_hex: raw.toString('base64') } })).status, 200);
    const bad = await rest(ta, 'POST', '/v2/wallet/tx', { body: { tx_hex: Buffer.from('00', 'hex').toString('base64') } });
    assert.equal(bad.status, 500);
    await btcd.node.generate(1);
    await until(async () => ((await rest(ta, 'GET', '/v1/balance/blockchain')).body as { total_balance: string }).total_balance === '0', { what: 'wallet emptied', timeoutMs: 20_000 });
    const refused = await rest(ta, 'POST', '/v1/transactions', { body: { addr: toB, amount: '1000', send_all: true } });
    assert.deepEqual([refused.status, refused.body.message], [500, 'amount set while SendAll is active']);

    // Peer events: B goes away and comes back.
    const peerEvents = restStream(ta, 'GET', '/v1/peers/subscribe');
    await sleep(500);
    await a.node.peers.disconnect(Buffer.from(b.id, 'hex'));
    await peerEvents.next((l) => (l.result as { type?: string }).type === 'PEER_OFFLINE', 'PEER_OFFLINE');
    await rest(ta, 'POST', '/v1/peers', { body: { addr: { pubkey: b.id, host: `127.0.0.1:${b.port}` } } });
    await peerEvents.next((l) => (l.result as { type?: string }).type === 'PEER_ONLINE', 'PEER_ONLINE');
    peerEvents.close();
    assert.deepEqual(peerEvents.lines.map((l) => l.result), [
      { pub_key: b.id, type: 'PEER_OFFLINE' },
      { pub_key: b.id, type: 'PEER_ONLINE' },
    ]);

    // DebugLevel (its effect on the loggers: test/rpc/lnd/lnd-node.test.ts); then StopDaemon stops the node.
    assert.deepEqual((await rest(ta, 'POST', '/v1/debuglevel', { body: { level_spec: 'off' } })).body, { sub_systems: '' });
    assert.equal((await rest(ta, 'POST', '/v1/debuglevel', { body: { level_spec: 'loud' } })).body.message, 'invalid debug level: loud');
    assert.deepEqual((await rest(ta, 'POST', '/v1/stop', { body: {} })).body, { status: 'shutdown initiated, check logs for progress' });
    await a.node.stopped;
  });
});
