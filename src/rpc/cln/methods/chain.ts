/**
 * The chain as lightningd's JSON-RPC shows it: `waitblockheight`, `feerates`, `listtransactions`. The
 * figures are the node's own (the channels' processed height, the backend's estimates asked at each
 * call, the wallet's transactions read from their blocks).
 */
import { CoreError, feeRates, guarded, onchainFeeEstimates, type FeeRates } from '../../../node/core/index.js';
import { OPTIONS } from '../../../node/config.js';
import { RpcCode, RpcError } from '../errors.js';
import type { CallContext, MethodDef } from '../method.js';

/** waitblockheight's default timeout, seconds (lightningd's). */
const DEFAULT_WAIT_SECONDS = 60;
/** How often waitblockheight looks at the height the channels have processed (in memory, no backend call). */
const WAIT_POLL_MS = 50;

export const waitblockheight: MethodDef = {
  name: 'waitblockheight',
  async run(params, { core }) {
    const target = params.blockheight as number;
    const timeoutMs = ((params.timeout as number | undefined) ?? DEFAULT_WAIT_SECONDS) * 1000;
    const height = (): number => core.channelManager?.tip?.height ?? 0;
    const deadline = Date.now() + timeoutMs;
    while (height() < target) {
      const left = deadline - Date.now();
      if (left <= 0) throw new RpcError(RpcCode.WAIT_TIMEOUT, 'Timed out.');
      await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, left)).unref());
    }
    return { blockheight: height() };
  },
};

/** The node's --max-fee-multiplier, as configured (the option table's default without settings). */
function maxFeeMultiplier(ctx: CallContext): number {
  const set = ctx.core.settings?.list().find((e) => e.name === 'max-fee-multiplier')?.values[0];
  return Number(set ?? OPTIONS.find((o) => o.name === 'max-fee-multiplier')!.default);
}

/** A rate in the asked style; perkb (4 × perkw) stays within the schema's u32. */
function styled(r: FeeRates, style: 'perkw' | 'perkb'): Record<string, unknown> {
  const k = (perkw: number): number => Math.min(style === 'perkb' ? perkw * 4 : perkw, 0xffffffff);
  const out: Record<string, unknown> = {};
  for (const [use, rate] of Object.entries(r.uses)) out[use] = k(rate);
  return {
    ...out,
    min_acceptable: k(r.minAcceptableSatPerKw),
    max_acceptable: k(r.maxAcceptableSatPerKw),
    floor: k(r.floorSatPerKw),
    // anode does not smooth estimates: the smoothed rate is the estimate.
    estimates: r.estimates.map((e) => ({ blockcount: e.blocks, feerate: k(e.feeRateSatPerKw), smoothed_feerate: k(e.feeRateSatPerKw) })),
  };
}

export const feerates: MethodDef = {
  name: 'feerates',
  async run(params, ctx) {
    const style = params.style as 'perkw' | 'perkb';
    const r = await feeRates(ctx.core, maxFeeMultiplier(ctx));
    const costs = onchainFeeEstimates(r);
    return {
      ...(r.missing ? { warning_missing_feerates: 'Some fee estimates unavailable: bitcoind startup?' } : {}),
      [style]: styled(r, style),
      ...(costs
        ? {
            onchain_fee_estimates: {
              opening_channel_satoshis: Number(costs.openingChannelSat),
              mutual_close_satoshis: Number(costs.mutualCloseSat),
              unilateral_close_satoshis: Number(costs.unilateralCloseSat),
              unilateral_close_nonanchor_satoshis: Number(costs.unilateralCloseNonanchorSat),
              htlc_timeout_satoshis: Number(costs.htlcTimeoutSat),
              htlc_success_satoshis: Number(costs.htlcSuccessSat),
            },
          }
        : {}),
    };
  },
};

export const listtransactions: MethodDef = {
  name: 'listtransactions',
  async run(_params, ctx) {
    const wallet = ctx.core.wallet;
    if (!wallet) throw new CoreError('NOT_ACTIVE', 'wallet not active (no chain backend)');
    const txs = await guarded(() => wallet.listTransactions());
    return {
      transactions: txs.map((t) => ({
        hash: t.txid,
        rawtx: Buffer.from(t.raw).toString('hex'),
        blockheight: t.blockheight,
        txindex: t.txindex,
        locktime: t.locktime,
        version: t.version,
        inputs: t.inputs.map((i) => ({ txid: i.txid, index: i.index, sequence: i.sequence })),
        outputs: t.outputs.map((o) => ({ index: o.index, amount_msat: Number(o.amountSat * 1000n), scriptPubKey: Buffer.from(o.script).toString('hex') })),
      })),
    };
  },
};

export const CHAIN_METHODS: readonly MethodDef[] = [waitblockheight, feerates, listtransactions];
