/**
 * LND shell figures computed from the channel state, on the real shell handlers over a core holding
 * channel engines' data (unit tests of the shell: the channel manager is a list of channels):
 * ClosedChannels' `time_locked_balance` is what the close left us under a time lock (our to_local's CSV,
 * our HTLCs' CLTV), not our channel balance; GetInfo counts channels once, from the channels' views;
 * OpenChannel and CloseChannel read their fee as SendCoins does (lnrpc.CalculateFeeRate's refusals).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Channel } from '../../../src/channel/channel.js';
import type { ChannelManager } from '../../../src/channel/manager.js';
import type { ChannelData, OnchainOutput, OnchainState } from '../../../src/channel/state.js';
import type { NodeCore } from '../../../src/node/core/index.js';
import { CHANNEL_HANDLERS, CHANNEL_STREAMS } from '../../../src/rpc/lnd/channels.js';
import { getInfo } from '../../../src/rpc/lnd/lightning.js';
import { makePair } from '../../channel/pair.js';
import { staticKey } from '../../harness/daemon.js';

const H = 500;
const SPEND = 'ab'.repeat(32);

function closedChannel(id: string, kind: OnchainState['kind'], outputs: OnchainOutput[]): Channel {
  const data: ChannelData = structuredClone(makePair().a.channel.data);
  data.state = 'CLOSED';
  data.onchain = { spendTxid: SPEND, kind, height: H, sweeps: [], pending: [], outputs };
  return { id, data } as unknown as Channel;
}

function coreWith(channels: Channel[], extra: Partial<NodeCore> = {}): NodeCore {
  const manager = { list: () => channels, get: (id: string) => channels.find((c) => c.id === id), isPeerConnected: () => false, blockHeight: H + 1000 } as unknown as ChannelManager;
  return { channelManager: manager, config: { network: 'regtest' }, ...extra } as unknown as NodeCore;
}

const spent = (height: number) => ({ txid: 'cd'.repeat(32), height, ours: true });

describe('LND figures from the channel state', () => {
  it('ClosedChannels: time_locked_balance is what was time-locked at the close, not the balance', async () => {
    const local = closedChannel('01'.repeat(32), 'local', [
      { vout: 0, what: 'to_local_delayed', amountSat: 400_000n, notBefore: H + 144, spentBy: spent(H + 144) },
      { vout: 1, what: 'htlc_timeout_tx', amountSat: 30_000n, notBefore: H + 40, spentBy: spent(H + 40) },
      // The HTLC transaction's own delayed output is not an output of the close.
      { txid: 'ef'.repeat(32), vout: 0, what: 'htlc_delayed', fromVout: 1, amountSat: 29_000n, notBefore: H + 184, spentBy: spent(H + 184) },
    ]);
    const remote = closedChannel('02'.repeat(32), 'remote', [
      // An anchors to_remote's 1-block CSV is no time lock.
      { vout: 0, what: 'to_remote_anchors', amountSat: 100_000n, notBefore: H + 1, spentBy: spent(H + 1) },
      { vout: 2, what: 'htlc_timeout_remote', amountSat: 20_000n, notBefore: H + 30, spentBy: spent(H + 30) },
    ]);
    const mutual = closedChannel('03'.repeat(32), 'mutual', []);
    const r = (await CHANNEL_HANDLERS['/lnrpc.Lightning/ClosedChannels']!({}, coreWith([local, remote, mutual]))) as { channels: { close_type: string; time_locked_balance: string; settled_balance: string }[] };
    assert.deepEqual(
      r.channels.map((c) => [c.close_type, c.time_locked_balance]),
      [
        ['LOCAL_FORCE_CLOSE', '430000'],
        ['REMOTE_FORCE_CLOSE', '20000'],
        ['COOPERATIVE_CLOSE', '0'],
      ],
    );
  });

  it('GetInfo counts channels once, from the views (the stored rows are not read when channels run)', async () => {
    const data: ChannelData = structuredClone(makePair().a.channel.data);
    data.state = 'CHANNELD_NORMAL';
    const open = { id: '04'.repeat(32), data } as unknown as Channel;
    let rowsRead = 0;
    const core = coreWith([open], {
      nodeId: Buffer.alloc(33, 2),
      peers: { bound: [], features: { toHex: () => '' }, list: () => [] },
      peerStore: { list: async () => [] },
      channels: {
        countByPeer: async () => new Map(),
        list: async () => {
          rowsRead++;
          return [];
        },
      },
      config: { network: 'regtest', version: 'v0.1.0-anode', defaultPort: 9735, dataDir: '/tmp' },
    } as unknown as Partial<NodeCore>);
    const info = await getInfo(core);
    assert.equal(rowsRead, 0, 'the stored channels are not counted as well');
    assert.deepEqual([info.num_pending_channels, info.num_active_channels, info.num_inactive_channels], [0, 0, 1], 'open with the peer away: inactive');
  });

  it('OpenChannel and CloseChannel refuse sat_per_byte with sat_per_vbyte, as CalculateFeeRate does for SendCoins', async () => {
    const data: ChannelData = structuredClone(makePair().a.channel.data);
    data.state = 'CHANNELD_NORMAL';
    const ch = { id: '05'.repeat(32), data, open: true } as unknown as Channel;
    const core = coreWith([ch], { nodeId: Buffer.alloc(33, 2) });
    const both = { sat_per_vbyte: '5', sat_per_byte: '6' };
    await assert.rejects(CHANNEL_HANDLERS['/lnrpc.Lightning/OpenChannelSync']!({ node_pubkey_string: staticKey(0x44).publicKey.toString('hex'), local_funding_amount: '100000', ...both }, core), /either SatPerByte or SatPerVByte should be set, but not both/);
    const cp = { funding_txid_str: data.funding.txid, output_index: data.funding.vout };
    await assert.rejects(CHANNEL_STREAMS['/lnrpc.Lightning/CloseChannel']!({ channel_point: cp, ...both }, core, () => undefined, new AbortController().signal), /either SatPerByte or SatPerVByte should be set, but not both/);
    await assert.rejects(CHANNEL_STREAMS['/lnrpc.Lightning/CloseChannel']!({ channel_point: cp, force: true, target_conf: 3 }, core, () => undefined, new AbortController().signal), /force closing a channel uses a pre-defined fee/);
  });
});
