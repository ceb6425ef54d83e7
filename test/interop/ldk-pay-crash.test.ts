/**
 * Issue 14, sending, durable: anode (a real daemon) pays an LDK invoice; LDK holds the HTLC; anode is
 * killed with SIGKILL while the payment is in flight; LDK claims it while anode is down. After restart,
 * LDK's fulfilment (retransmitted on reestablish) reaches anode's payment record: the payment is
 * complete with LDK's preimage, one part, and paying the invoice again sends nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.js';
import { freePort, useBtcd } from '../harness/btcd.js';
import { chainArgs, startDaemon, tempDir, type Daemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { interopGate } from './adapter.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';

const gate = interopGate('ldk', 'anode pays ldk across a crash', ldkUnavailableReason());
const btcd = useBtcd('anode pays ldk across a crash');

type Json = Record<string, unknown>;

describe('a payment in flight at kill -9 resolves once after restart', { skip: gate.skip || btcd.skip, timeout: 240_000 }, () => {
  const procs: Daemon[] = [];
  let ldk: LdkPeer | undefined;
  after(async () => {
    for (const p of procs) if (p.running()) await p.kill();
    await ldk?.stop();
  });

  it('LDK claims while anode is down; after restart the record is complete, nothing paid twice', async () => {
    gate.require();
    const dir = tempDir('anode-pay-crash-');
    const port = await freePort();
    const rpc = join(dir, 'regtest', 'lightning-rpc');
    const launch = async (): Promise<Daemon> => {
      const d = await startDaemon([`--addr=127.0.0.1:${port}`, ...chainArgs(btcd.node)], dir);
      procs.push(d);
      return d;
    };
    const call = async (method: string, params: Json = {}): Promise<Json> => {
      const r = await rpcCall(rpc, method, params);
      if (r.error) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
      return r.result as Json;
    };
    let d = await launch();
    const anodeId = Buffer.from(d.line.nodeId as string, 'hex');
    ldk = new LdkPeer({ seed: Buffer.alloc(32, 0x6a), log: (l) => process.env.ANODE_INTEROP_VERBOSE === '1' && process.stderr.write(`[ldk] ${l}\n`) });
    await ldk.start();
    await ldk.channels.useChain(btcd.node);
    await ldk.connect('127.0.0.1', port, anodeId);
    const opened = await ldk.channels.open({ nodeId: anodeId, amountSat: 400_000n, pushMsat: 200_000_000n });
    const normal = async (): Promise<boolean> => {
      const chans = (await call('listpeerchannels').catch(() => ({ channels: [] }))).channels as Json[];
      return chans[0]?.state === 'CHANNELD_NORMAL' && chans[0]?.peer_connected === true;
    };
    await btcd.node.mineUntil(async () => (await normal()) && (await ldk!.channels.list()).some((c) => c.channelId === opened.channelId && c.state === 'usable'), 'channel usable', {
      maxBlocks: 6,
      settleMs: 500,
      follow: () => ldk!.channels.followChain(),
    });

    const bolt11 = await ldk.createInvoice({ amountMsat: 21_000_000, holdClaims: true });
    const since = (await ldk.events()).length;
    // The caller of `pay` loses its connection with the crash; its answer is not awaited.
    void rpcCall(rpc, 'pay', { bolt11 }).catch(() => undefined);
    const claimable = await until(async () => (await ldk!.events(since)).find((e) => e.type === 'PaymentClaimable'), { what: 'LDK holds the HTLC', timeoutMs: 30_000 });
    const hash = claimable.paymentHash!;
    assert.equal((((await call('listpays', { payment_hash: hash })).pays as Json[])[0] ?? {}).status, 'pending');

    await d.kill();
    assert.equal(await ldk.claimHeld(), 1);
    d = await launch();
    await ldk.connect('127.0.0.1', port, anodeId);

    const pay = await until(
      async () => {
        const p = ((await call('listpays', { payment_hash: hash }).catch(() => ({ pays: [] }))).pays as Json[])[0];
        return p?.status === 'complete' ? p : undefined;
      },
      { what: "LDK's preimage in anode's record", timeoutMs: 60_000 },
    );
    assert.equal(sha256(Buffer.from(pay.preimage as string, 'hex')).toString('hex'), hash);
    await until(async () => (await ldk!.events(since)).some((e) => e.type === 'PaymentClaimed' && e.paymentHash === hash), { what: 'LDK claimed', timeoutMs: 30_000 });
    const parts = (await call('listsendpays', { payment_hash: hash })).payments as Json[];
    assert.deepEqual(parts.map((p) => p.status), ['complete']);
    // Paying again answers with the same success and sends no HTLC.
    const again = await call('pay', { bolt11 });
    assert.equal(again.payment_preimage, pay.preimage);
    assert.equal(((await call('listsendpays', { payment_hash: hash })).payments as Json[]).length, 1);
  });
});
