/**
 * The forwards repository (store/forwards.ts) on both backends, and the two APIs over it: amounts at the
 * top of u64 survive a reopen; a forward re-offered after a restart keeps its row (creation index,
 * received time); an outcome is written once (a second settle or fail of the same row changes nothing);
 * CLN's `listforwards` filters by status and channel (short channel id) and pages by creation index;
 * LND's ForwardingHistory shows settled forwards only, in the time range, paged by `index_offset` with
 * `last_offset_index`. The fees of settled forwards summed by settlement time over the last day, week and
 * 30 days (LND's FeeReport sums: msat summed, then whole satoshis).
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import type { NodeCore } from '../../src/node/core/index.js';
import { listforwards } from '../../src/rpc/cln/methods/forwards.js';
import { forwardingHistory } from '../../src/rpc/lnd/forwards.js';
import { feeReport } from '../../src/rpc/lnd/graph.js';
import { openStore, type Store } from '../../src/store/database.js';
import type { ForwardRecord } from '../../src/store/forwards.js';
import { forEachBackend } from '../store/backends.js';

const U64_MAX = (1n << 64n) - 1n;
type Json = Record<string, unknown>;

function base(i: number, over: Partial<ForwardRecord> = {}): Omit<ForwardRecord, 'id' | 'status'> {
  return { inChannel: 'aa'.repeat(32), inScid: '100x1x0', inHtlcId: BigInt(i), inMsat: 10_001_100n, paymentHash: String(i).padStart(64, '0'), outChannel: 'bb'.repeat(32), outScid: '200x1x0', outHtlcId: BigInt(i), outMsat: 10_000_000n, receivedTime: 1_700_000_000_000 + i, ...over };
}

forEachBackend('forwards repository and APIs', ({ location }) => {
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
  });
  const open = async (at: string): Promise<Store> => {
    const s = await openStore(at);
    stores.push(s);
    return s;
  };

  it('u64 amounts survive a reopen; a re-offer keeps the row; an outcome is written once', async () => {
    const at = await location();
    const s = await open(at);
    const r = await s.forwards.offer(base(0, { inMsat: U64_MAX, outMsat: U64_MAX - 1n }));
    const again = await s.forwards.offer(base(0, { outHtlcId: 5n, inMsat: U64_MAX, outMsat: U64_MAX - 1n, receivedTime: r.receivedTime }));
    assert.equal(again.id, r.id, 'the same incoming HTLC keeps its row');
    assert.equal(await s.forwards.settle(r.id, 'cc'.repeat(32), 1_700_000_001_000), true);
    assert.equal(await s.forwards.fail(r.id, 'dd', undefined, 1_700_000_002_000), false, 'settled stays settled');
    assert.equal(await s.forwards.settle(r.id, 'ee'.repeat(32), 1_700_000_003_000), false);
    await s.close();
    stores.pop();
    const s2 = await open(at);
    const got = await s2.forwards.get('aa'.repeat(32), 0n);
    assert.deepEqual([got?.inMsat, got?.outMsat, got?.outHtlcId, got?.status, got?.preimage, got?.resolvedTime], [U64_MAX, U64_MAX - 1n, 5n, 'settled', 'cc'.repeat(32), 1_700_000_001_000]);
  });

  it('listforwards: status and channel filters, start/limit by creation index; ForwardingHistory: settled only, paged', async () => {
    const s = await open(await location());
    const recs: ForwardRecord[] = [];
    for (let i = 0; i < 5; i++) recs.push(await s.forwards.offer(base(i, i === 4 ? { inScid: '101x1x0' } : {})));
    await s.forwards.localFail({ ...base(9), outHtlcId: undefined, failcode: 0x100c, failreason: 'fee_insufficient', upstreamReason: '00', resolvedTime: 1_700_000_000_100 } as never);
    // Settled at times 3000, 1000, 2000 (out of creation order); one failed.
    await s.forwards.settle(recs[0]!.id, '01'.repeat(32), 1_700_000_003_000);
    await s.forwards.settle(recs[1]!.id, '02'.repeat(32), 1_700_000_001_000);
    await s.forwards.settle(recs[4]!.id, '03'.repeat(32), 1_700_000_002_000);
    await s.forwards.fail(recs[2]!.id, 'ff', undefined, 1_700_000_001_500);
    const core = { forwards: s.forwards, channelManager: {} } as unknown as NodeCore;
    const cln = async (params: Json): Promise<Json[]> => ((await listforwards.run!(params, { core } as never)).forwards as Json[]);
    assert.deepEqual((await cln({})).map((f) => f.status), ['settled', 'settled', 'failed', 'offered', 'settled', 'local_failed']);
    assert.deepEqual((await cln({ status: 'settled' })).map((f) => f.in_htlc_id), [0n, 1n, 4n]);
    assert.deepEqual((await cln({ in_channel: '101x1x0' })).map((f) => f.in_htlc_id), [4n]);
    assert.equal((await cln({ out_channel: '200x1x0' })).length, 6);
    assert.deepEqual((await cln({ index: 'created', start: recs[2]!.id, limit: 2 })).map((f) => f.created_index), [recs[2]!.id, recs[3]!.id]);
    const failed = (await cln({ status: 'local_failed' }))[0]!;
    assert.deepEqual([failed.failcode, failed.failreason, failed.out_htlc_id, failed.style, failed.fee_msat], [0x100c, 'fee_insufficient', undefined, 'tlv', 1100n]);
    const settled = (await cln({ status: 'settled' }))[0]!;
    assert.deepEqual([settled.received_time, settled.resolved_time, settled.fee_msat, settled.in_channel, settled.out_channel], [1_700_000_000, 1_700_000_003, 1100n, '100x1x0', '200x1x0']);

    const lnd = (req: Json): Promise<Json> => forwardingHistory(core, req);
    const all = await lnd({ start_time: '0', end_time: '1800000000' });
    assert.deepEqual((all.forwarding_events as Json[]).map((e) => e.incoming_htlc_id), ['1', '4', '0'], 'settled only, by resolution time');
    assert.equal(all.last_offset_index, 3);
    const page = await lnd({ start_time: '1700000001', end_time: '1800000000', index_offset: 1, num_max_events: 1 });
    assert.deepEqual([(page.forwarding_events as Json[]).map((e) => e.incoming_htlc_id), page.last_offset_index], [['4'], 2]);
    const e = (all.forwarding_events as Json[])[0]!;
    assert.deepEqual([e.amt_in_msat, e.amt_out_msat, e.fee_msat, e.fee, e.amt_in, e.timestamp, e.timestamp_ns], ['10001100', '10000000', '1100', '1', '10001', '1700000001', '1700000001000000000']);
    assert.equal((await lnd({ start_time: '1700000004', end_time: '1800000000' })).last_offset_index, 0);
  });

  it('fee sums by settlement time: the last 24 h, 7 d, 30 d; settled forwards only (FeeReport)', async () => {
    const s = await open(await location());
    const now = Date.now();
    const hour = 3600_000;
    // [age, fee msat, outcome]: the failed and the offered ones earn nothing; one is older than 30 days.
    const cases: [number, bigint, 'settle' | 'fail' | 'offer'][] = [
      [hour, 1_100n, 'settle'],
      [48 * hour, 2_000_500n, 'settle'],
      [10 * 24 * hour, 40_000n, 'settle'],
      [40 * 24 * hour, 1_000_000n, 'settle'],
      [hour, 7_000n, 'fail'],
      [hour, 9_000n, 'offer'],
    ];
    for (const [i, [age, fee, how]] of cases.entries()) {
      const r = await s.forwards.offer(base(i, { inMsat: 10_000_000n + fee, outMsat: 10_000_000n }));
      if (how === 'settle') await s.forwards.settle(r.id, '01'.repeat(32), now - age);
      if (how === 'fail') await s.forwards.fail(r.id, 'ff', undefined, now - age);
    }
    const [day, week, month] = await s.forwards.feesSettledSince([now - 24 * hour, now - 7 * 24 * hour, now - 30 * 24 * hour]);
    assert.deepEqual([day, week, month], [1_100n, 2_001_600n, 2_041_600n]);
    assert.deepEqual(await s.forwards.feesSettledSince([now]), [0n], 'nothing settled after now');
    const core = { forwards: s.forwards, channelManager: {}, policy: { channels: () => [] } } as unknown as NodeCore;
    const report = await feeReport(core);
    assert.deepEqual([report.day_fee_sum, report.week_fee_sum, report.month_fee_sum], ['1', '2001', '2041']);
  });
});
