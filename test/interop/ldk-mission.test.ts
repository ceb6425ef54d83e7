/**
 * Issue 15, mission control survives a crash: anode as a real daemon (killed with SIGKILL) paying
 * through three real LDK nodes on btcd regtest.
 *
 *     anode ──1 000 000── LDK1 ──400 000── LDK2 ──400 000── LDK3
 *                            └─────────400 000────────────────┘
 *
 * anode knows the LDK–LDK channels by gossip only. The channel out of LDK1 on anode's preferred route to
 * LDK3 stops forwarding (its two ends disconnect): a payment's first attempt fails there and the retry
 * goes round it. QueryMissionControl (LND REST) shows the failure. The two ends reconnect — the graph
 * alone would prefer that hop again (QueryRoutes without mission control says so) — and anode is killed
 * with SIGKILL and restarted: QueryMissionControl shows the same failure, and the next payment's first
 * attempt (ListPayments' HTLC attempts, listsendpays' parts) avoids the hop. ResetMissionControl empties
 * it, and QueryProbability for the pair climbs back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scidFromString } from '../../src/gossip/messages.js';
import { decodeInvoice } from '../../src/invoice/bolt11.js';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { freePort, SOFT_FORKS_ACTIVE_HEIGHT, useBtcd } from '../harness/btcd.js';
import { chainArgs, startDaemon, tempDir, type Daemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rest, type RestTarget } from '../rpc/lnd/harness.js';
import { rpcCall } from '../rpc/harness.js';
import { interopGate } from './adapter.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';

const gate = interopGate('ldk', 'mission control across a crash', ldkUnavailableReason());
const btcd = useBtcd('mission control across a crash');

type Json = Record<string, unknown>;

describe('mission control survives kill -9: the next payment avoids the hop that failed before the crash', { skip: gate.skip || btcd.skip, timeout: 600_000 }, () => {
  const dir = tempDir('anode-mission-');
  let port: number;
  let daemon: Daemon | undefined;
  const procs: Daemon[] = [];
  let ldk: LdkPeer[] = [];
  let ports: number[] = [];
  let ids: string[] = [];
  let anodeId: string;
  const scid: { a1?: string; l12?: string; l23?: string; l13?: string } = {};
  /** LDK1's outgoing channel on anode's preferred route, and the LDK node at its other end. */
  let broken: string;
  let brokenPeer: LdkPeer;
  let mcBefore: Json[];
  const amount = 20_000_000n;

  const call = async <T = Json>(method: string, params: Json = {}): Promise<T> => {
    const r = await rpcCall(join(dir, 'regtest', 'lightning-rpc'), method, params);
    if (r.error) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  };
  const target = (): RestTarget => ({
    restPort: Number((daemon!.line.rest as string[])[0]!.split(':').at(-1)),
    cert: readFileSync(join(dir, 'regtest', 'tls.cert'), 'utf8'),
    admin: readFileSync(join(dir, 'regtest', 'admin.macaroon')),
  });
  const lnd = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const r = await rest(target(), method, path, body === undefined ? {} : { body });
    assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const launch = async (): Promise<Daemon> => {
    daemon = await startDaemon([`--addr=127.0.0.1:${port}`, '--alias=anode-mission', ...chainArgs(btcd.node)], dir);
    procs.push(daemon);
    return daemon;
  };
  const follow = async (): Promise<void> => {
    for (const l of ldk) await l.channels.followChain();
  };
  const mineUntil = (cond: () => boolean | Promise<boolean>, what: string, maxBlocks = 12): Promise<void> => btcd.node.mineUntil(cond, what, { maxBlocks, settleMs: 1000, follow });
  /** anode's `listchannels` entries for `s`. */
  const listed = async (s: string): Promise<Json[]> => (await call<{ channels: Json[] }>('listchannels', { short_channel_id: s })).channels;
  const known = async (s: string | undefined): Promise<boolean> => s !== undefined && (await listed(s)).length === 2;
  const chanId = (s: string): string => String(scidFromString(s)!);
  const hex = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('hex');
  /** QueryMissionControl's pair from LDK1 to `to`. */
  const pairFromLdk1 = (pairs: Json[], to: string): Json | undefined => pairs.find((p) => hex(p.node_from) === ids[0] && hex(p.node_to) === to);
  const usable = async (l: LdkPeer, s: string): Promise<boolean> => (await l.listChannels()).some((c) => c.shortChannelId === s && c.isUsable);

  /** anode pays LDK3's new invoice through `pay`; returns the payment hash. */
  async function pay(description: string): Promise<string> {
    const bolt11 = await ldk[2]!.createInvoice({ amountMsat: amount, description });
    assert.deepEqual(decodeInvoice(bolt11).routeHints, [], 'LDK3 has public channels only: no route hints');
    const r = await call<Json>('pay', { bolt11 });
    assert.equal(r.status, 'complete');
    return r.payment_hash as string;
  }

  /** The payment's HTLC attempts as LND's ListPayments shows them (creation order): each one's channels and status. */
  async function attempts(hash: string): Promise<{ chans: string[]; status: string }[]> {
    const { payments } = (await lnd('GET', '/v1/payments?include_incomplete=true')) as { payments: Json[] };
    const p = payments.find((x) => x.payment_hash === hash)!;
    return (p.htlcs as Json[]).map((h) => ({ chans: ((h.route as Json).hops as Json[]).map((x) => String(x.chan_id)), status: String(h.status) }));
  }

  before(async () => {
    gate.require();
    await btcd.node.mineTo(SOFT_FORKS_ACTIVE_HEIGHT + 1);
    port = await freePort();
    const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';
    ldk = [0x81, 0x82, 0x83].map((s, i) => new LdkPeer({ seed: Buffer.alloc(32, s), ...(verbose ? { log: (l: string) => process.stderr.write(`[ldk${i + 1}] ${l}\n`) } : {}) }));
    for (const l of ldk) {
      await l.start();
      await l.channels.useChain(btcd.node);
      ports.push(await l.listen());
    }
    ids = ldk.map((l) => l.nodeId.toString('hex'));
    for (const [i, j] of [
      [0, 1],
      [1, 2],
      [0, 2],
    ] as const) {
      await ldk[i]!.connect('127.0.0.1', ports[j]!, ldk[j]!.nodeId);
      await ldk[j]!.waitForPeer(ldk[i]!.nodeId, 10_000);
    }
    await launch();
    anodeId = daemon!.line.nodeId as string;
    await call('connect', { id: `${ids[0]}@127.0.0.1:${ports[0]}` });
    const { bech32 } = await call<{ bech32: string }>('newaddr');
    await btcd.node.fund(addressToScript(bech32, btcNetwork('regtest')), 2_000_000n);
    await until(async () => ((await call<{ outputs: Json[] }>('listfunds')).outputs ?? []).some((o) => o.status === 'confirmed'), { what: 'anode funds confirmed', timeoutMs: 30_000 });
    await follow();
    await call('fundchannel', { id: ids[0], amount: 1_000_000, feerate: '1000perkw', announce: true });
    // LDK–LDK channels, each mined until both ends have it usable.
    for (const [i, j] of [
      [0, 1],
      [1, 2],
      [0, 2],
    ] as const) {
      await follow();
      const { channelId } = await ldk[i]!.channels.open({ nodeId: ldk[j]!.nodeId, amountSat: 400_000n, announce: true });
      await follow();
      const both = async (): Promise<boolean> => (await Promise.all([ldk[i]!, ldk[j]!].map(async (l) => (await l.listChannels()).some((c) => c.channelId === channelId && c.isUsable)))).every(Boolean);
      await mineUntil(both, `LDK${i + 1} → LDK${j + 1} usable`, 8);
      const s = (await ldk[i]!.listChannels()).find((c) => c.channelId === channelId)!.shortChannelId!;
      if (i === 0 && j === 1) scid.l12 = s;
      else if (i === 1) scid.l23 = s;
      else scid.l13 = s;
    }
    await mineUntil(async () => (await ldk[0]!.listChannels()).some((c) => c.counterpartyNodeId === anodeId && c.isUsable), 'anode–LDK1 usable');
    scid.a1 = (await ldk[0]!.listChannels()).find((c) => c.counterpartyNodeId === anodeId)!.shortChannelId!;
    await mineUntil(async () => (await known(scid.a1)) && (await known(scid.l12)) && (await known(scid.l23)) && (await known(scid.l13)), 'anode has every channel with both updates', 20);
    // LDK puts route hints in its invoices while a public channel has fewer than 7 confirmations.
    await mineUntil(async () => (await ldk[2]!.listChannels()).every((c) => (c.confirmations ?? 0) >= 7), 'LDK3’s channels have 7 confirmations');
  });
  after(async () => {
    for (const p of procs) if (p.running()) await p.kill();
    await Promise.all(ldk.map((l) => l.stop()));
  });

  it('a payment fails at a hop and goes round it; QueryMissionControl shows the failure', async () => {
    const { route } = await call<{ route: { id: string; channel: string }[] }>('getroute', { id: ids[2], amount_msat: String(amount), riskfactor: 1, fuzzpercent: 0 });
    assert.equal(route[0]!.id, ids[0]);
    broken = route[1]!.channel;
    brokenPeer = ldk[ids.indexOf(route[1]!.id)]!;
    assert.ok(broken === scid.l12 || broken === scid.l13, `the preferred route leaves LDK1 on an LDK–LDK channel (${broken})`);
    assert.deepEqual((await lnd('GET', '/v2/router/mc')).pairs, [], 'nothing learnt yet');
    const t0 = Math.floor(Date.now() / 1000);
    await ldk[0]!.disconnect(brokenPeer.nodeId);
    await ldk[0]!.waitForDisconnect(brokenPeer.nodeId);
    let hash: string;
    try {
      hash = await pay('fails once');
    } finally {
      await ldk[0]!.connect('127.0.0.1', ports[ldk.indexOf(brokenPeer)]!, brokenPeer.nodeId);
    }
    const tries = await attempts(hash);
    assert.equal(tries[0]!.status, 'FAILED', 'the first attempt failed');
    assert.equal(tries[0]!.chans[1], chanId(broken), 'at the hop out of LDK1');
    assert.ok(tries.some((t) => t.status === 'SUCCEEDED' && !t.chans.includes(chanId(broken))), 'a retry went round it');

    mcBefore = (await lnd('GET', '/v2/router/mc')).pairs as Json[];
    const failed = pairFromLdk1(mcBefore, brokenPeer.nodeId.toString('hex'));
    assert.ok(failed, `QueryMissionControl has LDK1 → the peer: ${JSON.stringify(mcBefore)}`);
    const h = failed.history as Json;
    assert.ok(Number(h.fail_time) >= t0, `fail_time ${String(h.fail_time)} is the failure's (unix seconds)`);
    assert.ok(BigInt(h.fail_amt_msat as string) <= amount + 1_000_000n, 'failed at most at what the hop carried');
    assert.equal(BigInt(h.fail_amt_sat as string), BigInt(h.fail_amt_msat as string) / 1000n);
    // The hops that carried the HTLC passed: anode → LDK1.
    const first = mcBefore.find((p) => hex(p.node_from) === anodeId && hex(p.node_to) === ids[0]);
    assert.ok(first && Number((first.history as Json).success_time) >= t0, 'anode → LDK1 succeeded');
    const cfg = (await lnd('GET', '/v2/router/mccfg')).config as Json;
    assert.equal(cfg.half_life_seconds, '3600');
  });

  it('after kill -9 and a restart: the same knowledge, and the next payment’s first attempt avoids the failed hop', async () => {
    // The two ends are back together: by the graph alone the failed hop is the preferred one again.
    await until(async () => (await usable(ldk[0]!, broken)) && (await usable(brokenPeer, broken)), { what: 'the failed hop usable again', timeoutMs: 30_000 });
    const graphOnly = async (): Promise<string[]> => {
      const r = await lnd('GET', `/v1/graph/routes/${ids[2]}/${amount / 1000n}?use_mission_control=false&final_cltv_delta=40`);
      return (((r.routes as Json[])[0]!.hops as Json[]) ?? []).map((x) => String(x.chan_id));
    };
    await until(async () => (await graphOnly())[1] === chanId(broken), { what: 'the graph prefers the failed hop', timeoutMs: 60_000 });
    await daemon!.kill();
    await launch();
    await until(async () => (await call<{ channels: Json[] }>('listpeerchannels')).channels.some((c) => c.state === 'CHANNELD_NORMAL' && c.peer_connected === true), { what: 'anode–LDK1 back', timeoutMs: 60_000 });
    assert.equal((await graphOnly())[1], chanId(broken), 'the graph alone still prefers it after the restart');
    assert.deepEqual((await lnd('GET', '/v2/router/mc')).pairs, mcBefore, 'QueryMissionControl: the same pairs after the restart');
    await until(async () => usable(ldk[0]!, scid.a1!), { what: 'LDK1 sees anode’s channel usable', timeoutMs: 30_000 });

    const hash = await pay('after the crash');
    const tries = await attempts(hash);
    assert.ok(!tries[0]!.chans.includes(chanId(broken)), `the first attempt avoids ${broken}: ${tries[0]!.chans.join(' → ')}`);
    assert.ok(tries.every((t) => !t.chans.includes(chanId(broken))), 'no attempt tried it');
    assert.equal(tries[0]!.status, 'SUCCEEDED');
    const parts = (await call<{ payments: Json[] }>('listsendpays', { payment_hash: hash })).payments;
    assert.deepEqual(parts.map((p) => p.status), ['complete'], 'listsendpays: one part, complete');
  });

  it('QueryProbability: the failed pair is unlikely at the amount; ResetMissionControl empties it and the probability is back', async () => {
    const path = `/v2/router/mc/probability/${ldk[0]!.nodeId.toString('base64url')}/${brokenPeer.nodeId.toString('base64url')}/${amount}`;
    const before = (await lnd('GET', path)) as { probability: number; history: Json };
    assert.ok(Number(before.history.fail_time) > 0, 'the history of the pair');
    const short = await rest(target(), 'GET', `/v2/router/mc/probability/${Buffer.from([1, 2, 3, 4]).toString('base64url')}/${brokenPeer.nodeId.toString('base64url')}/1000`);
    assert.notEqual(short.status, 200);
    assert.match(String(short.body.message), /invalid vertex length of 4, want 33/, 'LND’s error for a key that is not 33 bytes');
    // Reset needs offchain:write: the read-only macaroon is refused, and nothing is forgotten.
    const readonly = readFileSync(join(dir, 'regtest', 'readonly.macaroon'));
    assert.notEqual((await rest(target(), 'POST', '/v2/router/mc/reset', { body: {}, macaroon: readonly })).status, 200);
    assert.ok(((await lnd('GET', '/v2/router/mc')).pairs as Json[]).length > 0, 'still there after the refused reset');
    await lnd('POST', '/v2/router/mc/reset', {});
    assert.deepEqual((await lnd('GET', '/v2/router/mc')).pairs, []);
    const afterReset = (await lnd('GET', path)) as { probability: number; history: Json };
    assert.equal(afterReset.history.fail_time, '0');
    assert.ok(afterReset.probability > before.probability, `${afterReset.probability} > ${before.probability}`);
    // Nothing learnt: the uniform prior over the channel's capacity.
    const cap = 400_000_000;
    assert.ok(Math.abs(afterReset.probability - (cap + 1 - Number(amount)) / (cap + 1)) < 1e-9, String(afterReset.probability));
    // And it stays empty across another crash.
    await daemon!.kill();
    await launch();
    assert.deepEqual((await lnd('GET', '/v2/router/mc')).pairs, []);
  });
});
