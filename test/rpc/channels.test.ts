/**
 * The channel commands' shells (fundchannel, listpeerchannels, close, dev-*): their schemas and CLN's
 * parameter errors, the replies without a channel manager, channel lookup errors, and the result shapes
 * over a stand-in channel manager (a real channel end to end needs a chain backend and is tested
 * elsewhere). Every result is checked against its schema by the harness client.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { ChannelError } from '../../src/channel/errors.js';
import type { ChannelManager, FundChannelRequest, FundChannelResult } from '../../src/channel/manager.js';
import { DEFAULT_CHANNEL_CONFIG } from '../../src/channel/open.js';
import type { ChannelData, SideParams } from '../../src/channel/state.js';
import type { NodeCore } from '../../src/node/core/index.js';
import { FailureCode, failureName } from '../../src/onion/failure.js';
import type { HtlcIntake } from '../../src/payment/intake.js';
import { Dispatcher } from '../../src/rpc/cln/dispatch.js';
import { CHANNEL_METHODS, htlcViews } from '../../src/rpc/cln/methods/channels.js';
import { METHODS } from '../../src/rpc/cln/methods/index.js';
import { usage } from '../../src/rpc/cln/schema.js';
import { RpcServer } from '../../src/rpc/cln/server.js';
import { WalletError } from '../../src/wallet/keys.js';
import { INIT_FEATURES } from '../../src/node/node.js';
import { CHAIN_HASH, MessageType } from '../../src/wire/messages.js';
import { staticKey, startPeerManager, testLogger, type TestPeerManager } from '../harness/daemon.js';
import { ScriptedPeer } from '../peer/scripted.js';
import { RawClient, schemas } from './harness.js';
import { until } from '../harness/wait.js';

const P2 = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5';
const HASH = 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2';
const NEW = ['fundchannel', 'listpeerchannels', 'close', 'dev-addhtlc', 'dev-fulfillhtlc', 'dev-failhtlc', 'dev-listhtlcs', 'dev-updatefee'];

/** Every method, with the channel ones whether or not methods/index.ts registers them yet. */
const ALL = [...METHODS, ...CHANNEL_METHODS.filter((m) => !METHODS.some((x) => x.name === m.name))];

interface Node {
  node: TestPeerManager;
  core: NodeCore & { channelManager?: ChannelManager };
  path: string;
  close(): Promise<void>;
}

async function start(channelManager?: ChannelManager, developer = true, htlcs?: HtlcIntake): Promise<Node> {
  const node = await startPeerManager({ localKey: staticKey(0x42) });
  const dir = mkdtempSync(join(tmpdir(), 'anode-rpc-ch-'));
  const path = join(dir, 'lightning-rpc');
  const core: Node['core'] = {
    nodeId: node.manager.nodeId,
    peers: node.manager,
    peerStore: node.store.peers,
    channels: node.store.channels,
    config: { network: 'regtest', dataDir: dir, defaultPort: 9735, version: 'v0.1.0-anode' },
    stop: async () => {},
    ...(channelManager ? { channelManager } : {}),
    ...(htlcs ? { htlcs } : {}),
  };
  const log = testLogger();
  const rpc = new RpcServer({ path, log }, new Dispatcher({ core, methods: ALL, schemas, developer, log, checkResponses: true }));
  await rpc.start();
  return {
    node,
    core,
    path,
    async close() {
      await rpc.stop();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function side(over: Partial<SideParams> = {}): SideParams {
  const pt = Buffer.from(P2, 'hex');
  return {
    dustLimitSat: 546n,
    maxHtlcValueInFlightMsat: 0xffffffffffffffffn,
    channelReserveSat: 10_000n,
    htlcMinimumMsat: 1n,
    toSelfDelay: 144,
    maxAcceptedHtlcs: 483,
    fundingPubkey: pt,
    revocationBasepoint: pt,
    paymentBasepoint: pt,
    delayedPaymentBasepoint: pt,
    htlcBasepoint: pt,
    ...over,
  };
}

const add = (id: bigint, amountMsat: bigint) => ({ id, amountMsat, paymentHash: Buffer.from(HASH, 'hex'), cltvExpiry: 250, onion: Buffer.alloc(0) });

/** A channel's data in CHANNELD_NORMAL: 1,000,000 sat opened by us, one committed outgoing HTLC. */
function channelData(peerId: string, over: Partial<ChannelData> = {}): ChannelData {
  const spec = { feeratePerKw: 2500n, toLocalMsat: 999_990_000n, toRemoteMsat: 0n, htlcs: [{ direction: 'offered' as const, add: add(0n, 10_000n) }] };
  const remoteSpec = { ...spec, toLocalMsat: 0n, toRemoteMsat: 999_990_000n, htlcs: [{ direction: 'received' as const, add: add(0n, 10_000n) }] };
  return {
    version: 1,
    channelId: Buffer.alloc(32, 0x7d),
    temporaryChannelId: Buffer.alloc(32, 1),
    peerId,
    opener: 'local',
    format: 'static_remotekey',
    channelType: Buffer.from([0x10, 0x00]),
    keyIndex: 1,
    fundingSat: 1_000_000n,
    pushMsat: 0n,
    funding: { txid: 'ab'.repeat(32), vout: 0 },
    minimumDepth: 3,
    shortChannelId: '103x1x0',
    announce: true,
    state: 'CHANNELD_NORMAL',
    local: side(),
    remote: side(),
    localCommit: { index: 1n, spec, txid: 'cd'.repeat(32), remoteSig: Buffer.alloc(64), htlcSigs: [] },
    remoteCommit: { index: 1n, spec: remoteSpec, txid: 'ef'.repeat(32), point: Buffer.from(P2, 'hex') },
    remoteNextPoint: Buffer.from(P2, 'hex'),
    localChanges: { proposed: [], signed: [], acked: [] },
    remoteChanges: { proposed: [], signed: [], acked: [] },
    localNextHtlcId: 1n,
    remoteNextHtlcId: 0n,
    remoteSecrets: [],
    localReadySent: true,
    remoteReady: true,
    lastSent: 'revoke',
    createdAt: 1,
    ...over,
  };
}

interface Calls {
  fund: FundChannelRequest[];
  close: { id: string; timeout: number }[];
  added: { amountMsat: bigint; paymentHash: Buffer; cltvExpiry: number }[];
  fulfilled: [bigint, Buffer][];
  failed: bigint[];
  /** dev-failhtlc's failure codes (undefined: the default). */
  failcodes: (number | undefined)[];
  fees: bigint[];
}

/** A stand-in for the channel manager and its channels: records what the shells ask of it. */
function fakeManager(connected: (peerId: string) => boolean, datas: ChannelData[] = []) {
  const calls: Calls = { fund: [], close: [], added: [], fulfilled: [], failed: [], failcodes: [], fees: [] };
  let fundResult: () => Promise<FundChannelResult> = async () => ({
    tx: '0200000001' + '00'.repeat(40),
    txid: 'aa'.repeat(32),
    outnum: 0,
    channelId: 'bb'.repeat(32),
    channelType: Buffer.from([0x40, 0x10, 0x00]),
    format: 'anchors_zero_fee_htlc_tx',
  });
  const channels: Channel[] = datas.map(
    (data) =>
      ({
        data,
        get id() {
          return data.channelId.toString('hex');
        },
        connected: true,
        async addHtlc(h: { amountMsat: bigint; paymentHash: Buffer; cltvExpiry: number }) {
          if (h.amountMsat > 1_000_000_000n) throw new ChannelError('INVALID_AMOUNT', 'channel: insufficient balance for this HTLC (reserve and fee)');
          calls.added.push(h);
          return 7n;
        },
        async fulfillHtlc(id: bigint, preimage: Buffer) {
          calls.fulfilled.push([id, preimage]);
        },
        async failHtlc(id: bigint) {
          calls.failed.push(id);
        },
        async updateFee(f: bigint) {
          calls.fees.push(f);
        },
      }) as unknown as Channel,
  );
  const live = (c: Channel): boolean => ['CHANNELD_AWAITING_LOCKIN', 'CHANNELD_NORMAL', 'CHANNELD_SHUTTING_DOWN', 'CLOSINGD_SIGEXCHANGE'].includes(c.data.state);
  const m = {
    config: DEFAULT_CHANNEL_CONFIG,
    blockHeight: 110,
    list: () => channels.slice(),
    get: (id: string) => channels.find((c) => c.id === id),
    find: (ref: string) => channels.find((c) => c.id === ref || c.data.shortChannelId === ref) ?? channels.filter((c) => c.data.peerId === ref && live(c)).at(-1),
    isPeerConnected: connected,
    async fundChannel(req: FundChannelRequest) {
      calls.fund.push(req);
      return fundResult();
    },
    async close(ch: Channel, timeout: number) {
      calls.close.push({ id: ch.id, timeout });
      return { type: 'mutual' as const, tx: '02000000' + '11'.repeat(30), txid: '99'.repeat(32) };
    },
  };
  // The intake's part of dev-failhtlc (the encrypted failure) is tested in test/payment/.
  const htlcs = {
    async failByHand(ch: Channel, id: bigint, code?: number) {
      calls.failcodes.push(code);
      await ch.failHtlc(id, Buffer.alloc(0));
      return { failure: failureName(code ?? FailureCode.TEMPORARY_NODE_FAILURE), malformed: false };
    },
  } as unknown as HtlcIntake;
  return { manager: m as unknown as ChannelManager, htlcs, calls, channels, setFund: (f: () => Promise<FundChannelResult>) => (fundResult = f) };
}

describe('channel commands: schemas and parameters', () => {
  let n: Node;
  let c: RawClient;
  before(async () => {
    n = await start();
    c = await RawClient.open(n.path);
  });
  after(async () => {
    c.close();
    await n.close();
  });

  it('every channel command has its schema, and help lists them with CLN-style usage', async () => {
    for (const name of NEW) assert.ok(schemas.has(name), `schemas/${name}.json`);
    assert.deepEqual(CHANNEL_METHODS.map((m) => m.name).sort(), [...NEW].sort());
    const u = (m: string): string => usage(schemas.get(m)!);
    assert.equal(u('fundchannel'), 'id amount [feerate] [announce] [minconf] [utxos] [push_msat] [close_to] [request_amt] [compact_lease] [mindepth] [reserve] [channel_type]');
    assert.equal(u('listpeerchannels'), '[id]');
    assert.equal(u('close'), 'id [unilateraltimeout]');
    assert.equal(u('dev-addhtlc'), 'id amount_msat payment_hash cltv_expiry [onion]');
    assert.equal(u('dev-failhtlc'), 'id htlc_id [failcode]');
    assert.equal(u('dev-fulfillhtlc'), 'id htlc_id preimage');
    const help = (await c.call('help', [])).result as { help: { command: string }[] };
    const commands = help.help.map((h) => h.command);
    for (const line of ['fundchannel id amount [feerate] [announce] [minconf] [utxos] [push_msat] [close_to] [request_amt] [compact_lease] [mindepth] [reserve] [channel_type]', 'listpeerchannels [id]', 'close id [unilateraltimeout]', 'dev-listhtlcs id', 'dev-updatefee id feerate_perkw']) {
      assert.ok(commands.includes(line), `help lists "${line}"`);
    }
    assert.deepEqual((await c.call('help', { command: 'close' })).result, { help: [{ command: 'close id [unilateraltimeout]' }], 'format-hint': 'simple' });
  });

  it("bad parameters fail with -32602 and lightningd's messages", async () => {
    // Parameters are checked in the order sent; `id` needs the channel manager, so bad ones come first here.
    const bad = async (method: string, params: unknown, message: string): Promise<void> => {
      assert.deepEqual((await c.call(method, params)).error, { code: -32602, message }, `${method} ${JSON.stringify(params)}`);
    };
    await bad('fundchannel', {}, 'missing required parameter: id');
    await bad('fundchannel', { id: P2 }, 'missing required parameter: amount');
    await bad('fundchannel', { id: 'zz', amount: 1 }, `id: should be a node id: invalid token '"zz"'`);
    await bad('fundchannel', { id: P2, amount: 'lots' }, `amount: should be a satoshi amount or 'all': invalid token '"lots"'`);
    await bad('fundchannel', { id: P2, amount: 100000, feerate: 'fast' }, `feerate: should be a feerate: invalid token '"fast"'`);
    await bad('fundchannel', { id: P2, amount: 100000, announce: 'yes' }, `announce: should be 'true' or 'false': invalid token '"yes"'`);
    await bad('fundchannel', { id: P2, amount: 100000, push_msat: '1x' }, `push_msat: should be a millisatoshi amount: invalid token '"1x"'`);
    await bad('fundchannel', [P2, 1, 'normal', true, 1, null, 0, null, null, null, null, null, null, 'extra'], 'too many parameters: got 14, expected 13');
    await bad('listpeerchannels', { id: '03' }, `id: should be a node id: invalid token '"03"'`);
    await bad('close', {}, 'missing required parameter: id');
    await bad('close', { id: 5 }, `id: should be a string: invalid token '5'`);
    await bad('close', { unilateraltimeout: -1, id: P2 }, `unilateraltimeout: should be an unsigned 32 bit integer: invalid token '-1'`);
    await bad('dev-addhtlc', { payment_hash: 'abcd', id: '1x1x1', amount_msat: 1000, cltv_expiry: 100 }, `payment_hash: should be a 32 byte hex value: invalid token '"abcd"'`);
    await bad('dev-addhtlc', { amount: 1000, id: '1x1x1' }, 'unknown parameter: amount, this may be caused by a failure to autodetect key=value-style parameters. Please try using the -k flag and explicit key=value pairs of parameters.');
    await bad('dev-fulfillhtlc', { preimage: '00', id: '1x1x1', htlc_id: 0 }, `preimage: should be a 32 byte hex value: invalid token '"00"'`);
    await bad('dev-updatefee', { feerate_perkw: 'high', id: '1x1x1' }, `feerate_perkw: should be an unsigned 32 bit integer: invalid token '"high"'`);
  });

  it('without a channel manager (no chain backend) the commands fail with -1', async () => {
    const inactive = { code: -1, message: 'channels not active (no chain backend)' };
    assert.deepEqual((await c.call('listpeerchannels', {})).error, inactive);
    assert.deepEqual((await c.call('fundchannel', { id: P2, amount: 100000 })).error, inactive);
    assert.deepEqual((await c.call('close', { id: P2 })).error, inactive);
    assert.deepEqual((await c.call('dev-listhtlcs', { id: '1x1x1' })).error, inactive);
  });
});

describe('channel commands over a channel manager', () => {
  let n: Node;
  let c: RawClient;
  let fake: ReturnType<typeof fakeManager>;
  let peer: ScriptedPeer;
  let peerId: string;
  let closedId: string;
  before(async () => {
    const key = staticKey(0x91);
    peerId = key.publicKey.toString('hex');
    closedId = staticKey(0x92).publicKey.toString('hex');
    const closed = channelData(closedId, { channelId: Buffer.alloc(32, 0x33), shortChannelId: '101x2x1', state: 'ONCHAIN', failure: 'Forcibly closed by `close` command timeout', createdAt: 0 });
    fake = fakeManager((id) => n.node.manager.peer(id)?.connected ?? false, [closed, channelData(peerId)]);
    n = await start(fake.manager, true, fake.htlcs);
    c = await RawClient.open(n.path);
    peer = await ScriptedPeer.dial(n.node.port, key, n.node.manager.nodeId);
    peer.send({ type: MessageType.INIT, globalFeatures: Buffer.alloc(0), features: INIT_FEATURES.toBytes(), networks: [CHAIN_HASH.regtest], extraTlvs: [] });
    await until(() => n.node.manager.peer(peerId) !== undefined, { what: 'peer connected', timeoutMs: 10_000 });
  });
  after(async () => {
    c.close();
    peer.close();
    await n.close();
  });

  it("listpeerchannels: CLN's shape, filtered by peer; an unknown peer gives an empty list", async () => {
    const all = (await c.call('listpeerchannels', [])).result as { channels: Record<string, unknown>[] };
    assert.deepEqual(all.channels.map((ch) => [ch.peer_id, ch.state, ch.peer_connected]), [
      [closedId, 'ONCHAIN', false],
      [peerId, 'CHANNELD_NORMAL', true],
    ]);
    const mine = (await c.call('listpeerchannels', { id: peerId })).result as { channels: Record<string, unknown>[] };
    assert.equal(mine.channels.length, 1);
    const ch = mine.channels[0]!;
    assert.equal(ch.channel_id, '7d'.repeat(32));
    assert.equal(ch.short_channel_id, '103x1x0');
    assert.deepEqual(ch.channel_type, { bits: [12], names: ['static_remotekey/even'] });
    assert.deepEqual(ch.features, ['option_static_remotekey']);
    assert.deepEqual(ch.feerate, { perkw: 2500, perkb: 10000 });
    assert.equal(ch.opener, 'local');
    assert.equal(ch.private, false);
    assert.equal(ch.to_us_msat, 999_990_000);
    assert.equal(ch.total_msat, 1_000_000_000);
    assert.deepEqual(ch.funding, { pushed_msat: 0, local_funds_msat: 1_000_000_000, remote_funds_msat: 0 });
    assert.equal(ch.our_reserve_msat, 10_000_000);
    assert.equal(ch.receivable_msat, 0);
    // Less the 10,000 sat reserve and the fee of a commitment with one more HTLC output (the 10 sat one
    // is trimmed): 724 + 172 weight at 2500 perkw, 2240 sat.
    assert.equal(ch.spendable_msat, 999_990_000 - 10_000_000 - 2_240_000);
    assert.deepEqual(ch.htlcs, [{ direction: 'out', id: 0, amount_msat: 10_000, expiry: 250, payment_hash: HASH, state: 'SENT_ADD_ACK_REVOCATION' }]);
    assert.deepEqual(all.channels[0]!.status, ['Forcibly closed by `close` command timeout']);
    assert.equal(all.channels[0]!.spendable_msat, 0);
    assert.deepEqual((await c.call('listpeerchannels', { id: P2 })).result, { channels: [] });
  });

  it("close: lightningd's lookup errors; a channel found by peer, channel id or short channel id", async () => {
    const err = async (id: unknown, error: { code: number; message: string }): Promise<void> => {
      assert.deepEqual((await c.call('close', { id })).error, error, String(id));
    };
    await err('00'.repeat(32), { code: -32602, message: `id: Channel id not found: invalid token '"${'00'.repeat(32)}"'` });
    await err('33'.repeat(32), { code: -32602, message: `id: Channel id not found: invalid token '"${'33'.repeat(32)}"'` });
    await err('999x1x1', { code: -32602, message: `id: Short channel id not found: invalid token '"999x1x1"'` });
    await err('101x2x1', { code: -32602, message: `id: Channel in state ONCHAIN: invalid token '"101x2x1"'` });
    await err('nonsense', { code: -32602, message: `id: should be a channel ID or short channel ID: invalid token '"nonsense"'` });
    // A node id that is not a peer is not a channel id either.
    await err(P2, { code: -32602, message: `id: should be a channel ID or short channel ID: invalid token '"${P2}"'` });
    // A known peer whose only channel is closed.
    await err(closedId, { code: -1, message: 'Peer has no active channel' });
    assert.equal(fake.calls.close.length, 0);

    const r = await c.call('close', { id: peerId });
    assert.deepEqual(r.result, { type: 'mutual', tx: '02000000' + '11'.repeat(30), txid: '99'.repeat(32), txs: ['02000000' + '11'.repeat(30)], txids: ['99'.repeat(32)] });
    await c.call('close', ['103x1x0', 60]);
    await c.call('close', { id: '7D'.repeat(32), unilateraltimeout: 0 });
    assert.deepEqual(fake.calls.close, [
      { id: '7d'.repeat(32), timeout: 172800 },
      { id: '7d'.repeat(32), timeout: 60 },
      { id: '7d'.repeat(32), timeout: 0 },
    ]);
  });

  it('fundchannel: connects first, checks amounts as lightningd, passes the request, shapes the result', async () => {
    // Not connected, no address known: connect's error.
    assert.deepEqual((await c.call('fundchannel', { id: P2, amount: 100000 })).error, { code: 400, message: 'Unable to connect, no address known for peer' });
    assert.deepEqual((await c.call('fundchannel', { id: peerId, amount: 16_777_216 })).error, { code: 300, message: 'Amount exceeded 16777215sat' });
    assert.deepEqual((await c.call('fundchannel', { id: peerId, amount: 10000, push_msat: 20_000_000 })).error, {
      code: 301,
      message: 'Requested to push_msat of 20000000msat is greater than available funding amount 10000sat',
    });
    assert.equal(fake.calls.fund.length, 0);

    const r = await c.call('fundchannel', { id: peerId, amount: '1000000sat', feerate: '2500perkw', announce: false, minconf: 2, push_msat: '1sat' });
    assert.deepEqual(r.result, {
      tx: '0200000001' + '00'.repeat(40),
      txid: 'aa'.repeat(32),
      outnum: 0,
      channel_type: { bits: [12, 22], names: ['static_remotekey/even', 'anchors/even'] },
      channel_id: 'bb'.repeat(32),
    });
    assert.deepEqual(fake.calls.fund.at(-1), { peerId, amountSat: 1_000_000n, feeratePerKw: 2500, pushMsat: 1000n, announce: false, minconf: 2 });
    await c.call('fundchannel', [peerId, 'all']);
    assert.deepEqual(fake.calls.fund.at(-1), { peerId, amountSat: 'all', announce: true });
    // A bare number is per kilo-vbyte, as lightningd.
    await c.call('fundchannel', [peerId, '0.00100000btc', 10000]);
    assert.deepEqual(fake.calls.fund.at(-1), { peerId, amountSat: 100_000n, feeratePerKw: 2500, announce: true });
    // Positional parameters in CLN's places: minconf, utxos, then push_msat (7th), as lightning-cli sends them.
    c.send(`{ "jsonrpc" : "2.0", "method" : "fundchannel", "id" : "cli:fundchannel#1", "params" :[ "${peerId}", 100000, null, false, 2, null, 5000 ] }`);
    assert.equal((await c.next('fundchannel')).error, undefined);
    assert.deepEqual(fake.calls.fund.at(-1), { peerId, amountSat: 100_000n, pushMsat: 5000n, announce: false, minconf: 2 });
    const calls = fake.calls.fund.length;
    assert.deepEqual((await c.call('fundchannel', [peerId, 100000, null, null, null, [`${'aa'.repeat(32)}:0`]])).error, {
      code: -32602,
      message: `utxos: not supported by anode: invalid token '["${'aa'.repeat(32)}:0"]'`,
    });
    assert.deepEqual((await c.call('fundchannel', { id: peerId, amount: 100000, mindepth: 0 })).error, { code: -32602, message: "mindepth: not supported by anode: invalid token '0'" });
    assert.equal(fake.calls.fund.length, calls, 'nothing funded with a parameter anode does not honour');

    fake.setFund(async () => {
      throw new ChannelError('CANNOT_AFFORD', 'Could not afford 1000000sat using all 1 available UTXOs: 5000sat short');
    });
    assert.deepEqual((await c.call('fundchannel', [peerId, 1000000])).error, { code: 301, message: 'Could not afford 1000000sat using all 1 available UTXOs: 5000sat short' });
    fake.setFund(async () => {
      throw new WalletError('CANNOT_AFFORD', 'Could not afford all using all 0 available UTXOs: 294sat short');
    });
    assert.deepEqual((await c.call('fundchannel', [peerId, 'all'])).error, { code: 301, message: 'Could not afford all using all 0 available UTXOs: 294sat short' });
    fake.setFund(async () => {
      throw new ChannelError('UNKNOWN_PEER', 'Unknown peer');
    });
    assert.deepEqual((await c.call('fundchannel', [peerId, 1000000])).error, { code: 306, message: 'Unknown peer' });
    fake.setFund(async () => {
      throw new ChannelError('INVALID_AMOUNT', 'amount 5000 is below the minimum channel size 10000');
    });
    assert.deepEqual((await c.call('fundchannel', [peerId, 5000])).error, { code: -1, message: 'amount 5000 is below the minimum channel size 10000' });
  });

  it('dev commands drive the channel named by id, short channel id or peer id; channel errors are -1', async () => {
    const r = await c.call('dev-addhtlc', { id: peerId, amount_msat: '100sat', payment_hash: HASH, cltv_expiry: 300 });
    assert.deepEqual(r.result, { htlc_id: 7 });
    assert.deepEqual(fake.calls.added, [{ amountMsat: 100_000n, paymentHash: Buffer.from(HASH, 'hex'), cltvExpiry: 300 }]);
    assert.deepEqual((await c.call('dev-addhtlc', ['103x1x0', '2000000000', HASH, 300])).error, {
      code: -1,
      message: 'channel: insufficient balance for this HTLC (reserve and fee)',
    });
    assert.deepEqual((await c.call('dev-fulfillhtlc', { id: '7d'.repeat(32), htlc_id: '3', preimage: 'ab'.repeat(32) })).result, {});
    assert.deepEqual(fake.calls.fulfilled, [[3n, Buffer.alloc(32, 0xab)]]);
    assert.deepEqual((await c.call('dev-failhtlc', ['103x1x0', 4])).result, { failure: 'temporary_node_failure', malformed: false });
    assert.deepEqual((await c.call('dev-failhtlc', { id: '103x1x0', htlc_id: 5, failcode: 0x400f })).result, { failure: 'incorrect_or_unknown_payment_details', malformed: false });
    assert.deepEqual(fake.calls.failed, [4n, 5n]);
    assert.deepEqual(fake.calls.failcodes, [undefined, 0x400f]);
    assert.deepEqual((await c.call('dev-updatefee', [peerId, 5000])).result, {});
    assert.deepEqual(fake.calls.fees, [5000n]);
    const list = await c.call('dev-listhtlcs', ['103x1x0']);
    assert.deepEqual(list.result, {
      htlcs: [{ direction: 'out', id: 0, amount_msat: 10_000, payment_hash: HASH, cltv_expiry: 250, state: 'SENT_ADD_ACK_REVOCATION', local_committed: true, remote_committed: true }],
    });
    assert.deepEqual((await c.call('dev-listhtlcs', ['888x1x1'])).error, { code: -32602, message: `id: Short channel id not found: invalid token '"888x1x1"'` });
    assert.deepEqual((await c.call('dev-listhtlcs', [P2])).error, { code: -1, message: 'Peer has no active channel' });
  });
});

describe('HTLC states from the update logs', () => {
  it('names each stage as lightningd does, in both directions', () => {
    const d = channelData(P2);
    // Outgoing 0 committed both sides and being fulfilled by the peer (received, not yet signed).
    d.remoteChanges.proposed.push({ kind: 'fulfill', id: 0n, preimage: Buffer.alloc(32) });
    // Outgoing 1 sent, not signed; outgoing 2 signed, awaiting their revocation.
    d.localChanges.proposed.push({ kind: 'add', ...add(1n, 5000n) });
    d.localChanges.signed.push({ kind: 'add', ...add(2n, 6000n) });
    // Incoming 0 received and acked (in our commitment), incoming 1 committed both sides and being failed by us.
    d.remoteChanges.acked.push({ kind: 'add', ...add(0n, 7000n) });
    d.localCommit.spec.htlcs.push({ direction: 'received', add: add(0n, 7000n) }, { direction: 'received', add: add(1n, 8000n) });
    d.remoteCommit.spec.htlcs.push({ direction: 'offered', add: add(1n, 8000n) });
    d.localChanges.signed.push({ kind: 'fail', id: 1n, reason: Buffer.alloc(0) });
    const v = htlcViews(d).map((h) => [h.direction, Number(h.id), h.state, h.localCommitted, h.remoteCommitted]);
    assert.deepEqual(v, [
      ['in', 0, 'SENT_ADD_REVOCATION', true, false],
      ['in', 1, 'SENT_REMOVE_COMMIT', true, true],
      ['out', 0, 'RCVD_REMOVE_HTLC', true, true],
      ['out', 1, 'SENT_ADD_HTLC', false, false],
      ['out', 2, 'SENT_ADD_COMMIT', false, false],
    ]);
  });
});

describe('developer-only commands', () => {
  it('without --developer: dev- commands answer -32601 and are not listed by help', async () => {
    const n = await start(undefined, false);
    try {
      const c = await RawClient.open(n.path);
      const r = await c.call('dev-listhtlcs', { id: P2 });
      assert.deepEqual(r.error, { code: -32601, message: 'Command dev-listhtlcs is developer-only' });
      const help = (await c.call('help', {})).result!.help as { command: string }[];
      assert.ok(help.length > 0 && help.every((h) => !h.command.startsWith('dev-')));
      c.close();
    } finally {
      await n.close();
    }
  });
});
