/**
 * A whole anode daemon on PostgreSQL (`--wallet=postgres://…`, every migration applied at start) serving
 * the tables the invoice, payment and gossip work added, through CLN's socket: invoice, listinvoices,
 * delinvoice, listsendpays/listpays, listchannels/listnodes; after a stop and a start on the same
 * database and data directory the invoices, their counters and the preimage sequence carry on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDaemon, tempDir } from '../harness/daemon.js';
import { usePostgres } from '../harness/postgres.js';
import { RawClient } from '../rpc/harness.js';

const pg = usePostgres('a daemon on PostgreSQL');

describe('a daemon on PostgreSQL: invoices, payments and gossip through the CLN socket', { skip: pg.skip }, () => {
  it('creates, lists and deletes invoices, lists payments and the graph, and keeps it all across a restart', async () => {
    const wallet = `--wallet=${await pg.fresh()}`;
    const dir = tempDir('anode-pg-daemon-');
    const rpcPath = join(dir, 'regtest', 'lightning-rpc');
    let running: Awaited<ReturnType<typeof startDaemon>> | undefined;
    const start = async (): Promise<{ c: RawClient; stop: () => Promise<void> }> => {
      const d = (running = await startDaemon([wallet], dir));
      const c = await RawClient.open(rpcPath);
      return {
        c,
        stop: async () => {
          assert.deepEqual((await c.call('stop', {})).result, { result: 'Shutdown complete' });
          c.close();
          assert.equal(await d.exited, 0, d.output().slice(-2000));
        },
      };
    };

    try {
      await scenario();
    } finally {
      if (running?.running()) await running.kill(); // a failed assertion leaves no daemon behind
    }

    async function scenario(): Promise<void> {
      const first = await start();
      let c = first.c;
      const a = (await c.call('invoice', { amount_msat: '18446744073709551615msat', label: 'max', description: 'u64' })).result!;
      assert.equal(a.created_index, 1);
      const b = (await c.call('invoice', { amount_msat: 'any', label: 'any', description: 'gone soon' })).result!;
      assert.deepEqual((await c.call('invoice', { amount_msat: 1, label: 'max', description: 'x' })).error, { code: 900, message: "Duplicate label 'max'" });
      assert.deepEqual((await c.call('delinvoice', { label: 'any', status: 'unpaid', desconly: true })).result?.label, 'any');
      const reply = await c.call('listinvoices', {});
      const listed = reply.result!.invoices as Record<string, unknown>[];
      assert.deepEqual(listed.map((i) => [i.label, i.status, i.created_index]), [['max', 'unpaid', 1], ['any', 'unpaid', 2]]);
      assert.match(reply.text, /"amount_msat":18446744073709551615\b/, 'the u64 amount, exact on the wire');
      assert.equal(listed[1]!.description, undefined, 'desconly removed the description');
      assert.deepEqual((await c.call('listsendpays', {})).result, { payments: [] });
      assert.deepEqual((await c.call('listpays', {})).result, { pays: [] });
      assert.deepEqual((await c.call('listchannels', {})).result, { channels: [] });
      assert.deepEqual((await c.call('listnodes', {})).result, { nodes: [] });
      await first.stop();

      const second = await start();
      c = second.c;
      const again = (await c.call('listinvoices', {})).result!.invoices as Record<string, unknown>[];
      assert.deepEqual(again.map((i) => [i.label, i.payment_hash, i.bolt11]), [['max', a.payment_hash, a.bolt11], ['any', b.payment_hash, b.bolt11]]);
      const next = (await c.call('invoice', { amount_msat: 1000, label: 'next', description: 'after restart' })).result!;
      assert.equal(next.created_index, 3, 'the creation index continues');
      assert.notEqual(next.payment_hash, a.payment_hash);
      assert.notEqual(next.payment_hash, b.payment_hash, 'the preimage sequence continues: no hash reused');
      assert.deepEqual(((await c.call('listinvoices', { index: 'updated' })).result!.invoices as { label: string }[]).map((i) => i.label), ['any']);
      await second.stop();
    }
  });
});
