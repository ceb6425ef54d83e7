/**
 * A child process for `ldk-onion.test.ts`: LDK 0.1's `peel_payment_onion` (what LDK's ChannelManager runs
 * on every incoming `update_add_htlc`) applied to onions anode built. Reads `{ seed, htlcs }` as JSON on
 * stdin and prints one line `RESULT <json>`: LDK's node id for that seed, and per HTLC what LDK read
 * (the next hop and the forwarded onion, the payment to receive, or the failure code it would return).
 * A separate process because LDK's WASM prints a banner on stdout.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface HostHtlc {
  onion: string;
  paymentHash: string;
  amountMsat: string;
  cltvExpiry: number;
  height: number;
}

export type LdkPeel =
  | { ok: false; errCode: number; errData: string; msg: string }
  | {
      ok: true;
      kind: 'forward' | 'receive' | 'keysend' | 'other';
      sharedSecret: string;
      outgoingAmtMsat: string;
      outgoingCltv: number;
      shortChannelId?: string;
      nextOnion?: string;
      paymentSecret?: string;
      totalMsat?: string;
      preimage?: string;
    };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function main(): Promise<void> {
  const require = createRequire(import.meta.url);
  const ldk = await import('lightningdevkit');
  await ldk.initializeWasmFromBinary(readFileSync(require.resolve('lightningdevkit/liblightningjs.wasm')));
  const input = JSON.parse(readFileSync(0, 'utf8')) as { seed: string; htlcs: HostHtlc[] };
  const keys = ldk.KeysManager.constructor_new(Buffer.from(input.seed, 'hex'), 1n, 0);
  const signer = keys.as_NodeSigner();
  const id = signer.get_node_id(ldk.Recipient.LDKRecipient_Node);
  if (!(id instanceof ldk.Result_PublicKeyNoneZ_OK)) throw new Error('no node id');
  const logger = ldk.Logger.new_impl({ log: () => {} });

  const peels: LdkPeel[] = input.htlcs.map((h) => {
    const packet = ldk.OnionPacket.constructor_read(Buffer.from(h.onion, 'hex'));
    if (!(packet instanceof ldk.Result_OnionPacketDecodeErrorZ_OK)) throw new Error('LDK cannot read the onion packet');
    const msg = ldk.UpdateAddHTLC.constructor_new(
      ldk.ChannelId.constructor_new_zero(),
      0n,
      BigInt(h.amountMsat),
      Buffer.from(h.paymentHash, 'hex'),
      h.cltvExpiry,
      ldk.Option_u64Z.constructor_none(),
      packet.res,
      null,
    );
    const r = ldk.UtilMethods.constructor_peel_payment_onion(msg, signer, logger, h.height, false);
    if (r instanceof ldk.Result_PendingHTLCInfoInboundHTLCErrZ_Err) {
      const e = r.err;
      // LDK hands the u16 code over as an i16.
      return { ok: false, errCode: e.get_err_code() & 0xffff, errData: hex(e.get_err_data()), msg: e.get_msg() };
    }
    if (!(r instanceof ldk.Result_PendingHTLCInfoInboundHTLCErrZ_OK)) throw new Error('peel_payment_onion: neither OK nor Err');
    const info = r.res;
    const routing = info.get_routing();
    const base = { ok: true as const, sharedSecret: hex(info.get_incoming_shared_secret()), outgoingAmtMsat: info.get_outgoing_amt_msat().toString(), outgoingCltv: info.get_outgoing_cltv_value() };
    if (routing instanceof ldk.PendingHTLCRouting_Forward) {
      const s = routing.short_channel_id;
      return { ...base, kind: 'forward', shortChannelId: `${s >> 40n}x${(s >> 16n) & 0xffffffn}x${s & 0xffffn}`, nextOnion: hex(routing.onion_packet.write()) };
    }
    if (routing instanceof ldk.PendingHTLCRouting_Receive) {
      return { ...base, kind: 'receive', paymentSecret: hex(routing.payment_data.get_payment_secret()), totalMsat: routing.payment_data.get_total_msat().toString() };
    }
    if (routing instanceof ldk.PendingHTLCRouting_ReceiveKeysend) return { ...base, kind: 'keysend', preimage: hex(routing.payment_preimage) };
    return { ...base, kind: 'other' };
  });
  process.stdout.write(`RESULT ${JSON.stringify({ nodeId: hex(id.res), peels })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`ldk-onion-host: ${String((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
