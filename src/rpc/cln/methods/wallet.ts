/**
 * The on-chain wallet over JSON-RPC with lightningd's names, shapes and error codes: `newaddr`,
 * `listfunds`, `withdraw`. Thin shells over {@link WalletCore}.
 */
import { parseSatAmount } from '../../../wallet/amount.js';
import { WalletError } from '../../../wallet/keys.js';
import type { WalletCore } from '../../../wallet/wallet.js';
import { RpcCode, RpcError, invalidParams } from '../errors.js';
import type { CallContext, MethodDef, ParamContext } from '../method.js';

export const ERR_WALLET_NOT_ACTIVE = 'wallet not active (no chain backend)';
/** common/jsonrpc_errors.h */
export const FUND_CANNOT_AFFORD = 301;
export const FUND_OUTPUT_IS_DUST = 302;

function wallet(ctx: CallContext): WalletCore {
  if (!ctx.core.wallet) throw new RpcError(RpcCode.LIGHTNINGD, ERR_WALLET_NOT_ACTIVE);
  return ctx.core.wallet;
}

/** WalletError → lightningd's codes. */
export function walletRpcError(err: unknown): Error {
  if (!(err instanceof WalletError)) return err instanceof Error ? err : new Error(String(err));
  switch (err.code) {
    case 'INVALID':
    case 'UNKNOWN_UTXO':
      return invalidParams(err.message);
    case 'BAD_ADDRESS':
      return invalidParams('Could not parse destination address, destination should be a valid address');
    case 'DUST':
      return new RpcError(FUND_OUTPUT_IS_DUST, err.message);
    case 'CANNOT_AFFORD':
      return new RpcError(FUND_CANNOT_AFFORD, err.message);
    default:
      return new RpcError(RpcCode.LIGHTNINGD, err.message);
  }
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw walletRpcError(err);
  }
}

export const newaddr: MethodDef = {
  name: 'newaddr',
  async run(params, ctx) {
    const w = wallet(ctx);
    const type = (params.addresstype as string | undefined) ?? 'bech32';
    const out: Record<string, unknown> = {};
    await guard(async () => {
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
    const outputs = await guard(() => w.listFunds({ spent: params.spent === true }));
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
    const r = await guard(() =>
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
