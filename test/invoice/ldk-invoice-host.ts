/**
 * A child process for `ldk-invoice.test.ts`: reads a JSON array of BOLT 11 strings on stdin, has LDK 0.1
 * (npm `lightningdevkit`, the peer of the interop tests) parse each, and prints one line `RESULT <json>`
 * with what LDK read. A separate process because LDK's WASM prints a banner on stdout.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface LdkReading {
  ok: boolean;
  error?: string;
  payee?: string;
  amountMsat?: string | null;
  paymentHash?: string;
  paymentSecret?: string;
  minFinalCltvExpiryDelta?: string;
  expirySeconds?: string;
  fallbacks?: string[];
  routeHints?: { nodeId: string; shortChannelId: string; feeBaseMsat: number; feeProportionalMillionths: number; cltvExpiryDelta: number }[][];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const scid = (v: bigint): string => `${v >> 40n}x${(v >> 16n) & 0xffffffn}x${v & 0xffffn}`;

async function main(): Promise<void> {
  const require = createRequire(import.meta.url);
  const ldk = await import('lightningdevkit');
  await ldk.initializeWasmFromBinary(readFileSync(require.resolve('lightningdevkit/liblightningjs.wasm')));
  const invoices = JSON.parse(readFileSync(0, 'utf8')) as string[];
  const out: LdkReading[] = invoices.map((text) => {
    const r = ldk.Bolt11Invoice.constructor_from_str(text);
    if (!(r instanceof ldk.Result_Bolt11InvoiceParseOrSemanticErrorZ_OK)) return { ok: false, error: r.constructor.name };
    const inv = r.res;
    const amount = inv.amount_milli_satoshis();
    return {
      ok: true,
      payee: hex(inv.recover_payee_pub_key()),
      amountMsat: amount instanceof ldk.Option_u64Z_Some ? amount.some.toString() : null,
      paymentHash: hex(inv.payment_hash()),
      paymentSecret: hex(inv.payment_secret()),
      minFinalCltvExpiryDelta: inv.min_final_cltv_expiry_delta().toString(),
      expirySeconds: inv.expiry_time().toString(),
      fallbacks: inv.fallback_addresses(),
      routeHints: inv.route_hints().map((hint) =>
        hint.get_a().map((h) => ({
          nodeId: hex(h.get_src_node_id()),
          shortChannelId: scid(h.get_short_channel_id()),
          feeBaseMsat: h.get_fees().get_base_msat(),
          feeProportionalMillionths: h.get_fees().get_proportional_millionths(),
          cltvExpiryDelta: h.get_cltv_expiry_delta(),
        })),
      ),
    };
  });
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`ldk-invoice-host: ${String((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
