/**
 * The on-chain wallet over JSON-RPC with lightningd's names, shapes and error codes: `newaddr`,
 * `listfunds`, `withdraw`. Thin shells over {@link WalletCore}; failures are the core's error kinds.
 */
import { CoreError, guarded } from '../../../node/core/index.js';
import { parseSatAmount } from '../../../wallet/amount.js';
import type { WalletCore } from '../../../wallet/wallet.js';
import type { CallContext, MethodDef, ParamContext } from '../method.js';

function wallet(ctx: CallContext): WalletCore {
  if (!ctx.core.wallet) throw new CoreError('NOT_ACTIVE', 'wallet not active (no chain backend)');
  return ctx.core.wallet;
}

export const newaddr: MethodDef = {
  name: 'newaddr',
  async run(params, ctx) {
    const w = wallet(ctx);
    const type = (params.addresstype as string | undefined) ?? 'bech32';
    const out: Record<string, unknown> = {};
    await guarded(async () => {
      if (type === 'bech32' || type === 'all') out.bech32 = (await w.newAddress('p2wpkh')).address;
      if (type === 'p2tr' || type === 'all') out.p2tr = (await w.newAddress('p2tr')).address;
    });
    return out;
  },
};

export const listfunds: MethodDef = {
  name: 'listfunds',
  async run(params, ctx) {
    const w = wallet(ctx);
    const outputs = await guarded(() => w.listFunds({ spent: params.spent === true }));
    return {
      outputs: outputs.map((o) => ({
        txid: o.txid,
        output: o.output,
        amount_msat: Number(o.amountSat * 1000n),
        scriptpubkey: Buffer.from(o.script).toString('hex'),
        ...(o.address !== undefined ? { address: o.address } : {}),
        status: o.status,
        ...(o.blockheight !== undefined ? { blockheight: o.blockheight } : {}),
        reserved: o.reserved,
        ...(o.reservedToBlock !== undefined ? { reserved_to_block: o.reservedToBlock } : {}),
      })),
      channels: (ctx.core.channelManager?.list() ?? [])
        .filter((c) => c.data.state !== 'CLOSED')
        .map((c) => {
          const d = c.data;
          return {
            peer_id: d.peerId,
            connected: ctx.core.channelManager!.isPeerConnected(d.peerId),
            state: d.state,
            channel_id: d.channelId.toString('hex'),
            ...(d.shortChannelId ? { short_channel_id: d.shortChannelId } : {}),
            our_amount_msat: Number(d.localCommit.spec.toLocalMsat),
            amount_msat: Number(d.fundingSat * 1000n),
            funding_txid: d.funding.txid,
            funding_output: d.funding.vout,
          };
        }),
    };
  },
};

function satoshiParam(p: ParamContext): unknown {
  const v = p.standard();
  if (v === 'all') return 'all';
  try {
    return parseSatAmount(v);
  } catch {
    throw p.bad('should be a satoshi amount');
  }
}

function utxosParam(p: ParamContext): unknown {
  const v = p.standard() as string[];
  return v.map((s) => ({ txid: s.slice(0, 64).toLowerCase(), vout: Number(s.slice(65)) }));
}

export const withdraw: MethodDef = {
  name: 'withdraw',
  params: { satoshi: satoshiParam, utxos: utxosParam },
  async run(params, ctx) {
    const w = wallet(ctx);
    const r = await guarded(() =>
      w.withdraw({
        destination: String(params.destination),
        amountSat: params.satoshi as bigint | 'all',
        ...(params.feerate !== undefined ? { feerate: params.feerate } : {}),
        ...(params.minconf !== undefined ? { minconf: Number(params.minconf) } : {}),
        ...(params.utxos !== undefined ? { utxos: params.utxos as { txid: string; vout: number }[] } : {}),
      }),
    );
    return { tx: r.hex, txid: r.txid, psbt: Buffer.from(r.psbt).toString('base64') };
  },
};

export const WALLET_METHODS: readonly MethodDef[] = [newaddr, listfunds, withdraw];
