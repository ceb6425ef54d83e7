/**
 * The channels' side of each block once a close is under way. Every step is written through the
 * `Channel` before it is acted on: the funding spend with the plan for each output (resolver.ts); each
 * sweep once built, again once the backend first accepts it, once confirmed, or once dropped (replaced by
 * a fee bump, or one of its inputs spent by another transaction — a watchtower's justice transaction,
 * say; the outputs it left are swept again). Live sweeps are published again every block until they
 * confirm; confirmed or dropped ones never are. Sweeps are grouped by deadline and follow a fee function
 * from the backend's estimate to their budget (fees.ts), replaced by RBF as the deadline nears. A channel
 * is ONCHAIN once every output is spent or abandoned, and CLOSED 100 blocks after the spend.
 */
import type { Logger } from 'pino';
import type { ConnectedBlock } from '../../chain/notifier.js';
import { parseTransaction, type BlockTransaction } from '../../chain/block.js';
import type { ChainSource } from '../../chain/chain-source.js';
import type { ChannelDataRepository } from '../../store/channel-data.js';
import type { BackupSink } from '../backup.js';
import type { Channel } from '../channel.js';
import { ChannelError } from '../errors.js';
import type { ChannelRegistry } from '../registry.js';
import type { OnchainOutput, OnchainState, OnchainSweep } from '../state.js';
import { BUMP_ROOM, BUMP_STEP_PER_KW, NO_DEADLINE_TARGET, bumpTo, feeFunction, groupByDeadline, targetBlocks, type FeeFunction } from './fees.js';
import { anchorInput, buildSweepTx, sweepWeight, type SweepInput } from './sweep.js';
import { commitmentWeight, hasAnchors } from '../commitment.js';
import { buildCommitment } from '../commitments.js';
import { feeInputKey, htlcTransactions, plannedInputs, resolveFundingSpend, secondStageRevoked, type HtlcTransaction, type PreimageSource } from './resolver.js';
import { anchorsHtlcWeight, buildAnchorsHtlcTx } from './htlc-anchors.js';
import { abandonedOfferedPending, OFFERED_HTLC_OUTPUTS, offeredHtlcOutcomes, offeredHtlcs, witnessPreimage, type OfferedHtlcOutcome } from './outcomes.js';
import { p2wpkh } from '../../bitcoin/script.js';
import { secp } from '../../crypto/secp256k1.js';

export interface SweeperContext {
  /** `getBlockCount` (the backend's best height) tells a node catching up from one at the tip; without it every block counts as the tip. */
  chain: Pick<ChainSource, 'sendRawTransaction'> & Partial<Pick<ChainSource, 'getBlockCount'>>;
  registry: ChannelRegistry;
  revocations: Pick<ChannelDataRepository, 'findRevocation'>;
  backups?: BackupSink;
  /** A fresh wallet output script to sweep to. */
  walletScript(): Promise<Buffer>;
  /** The backend's estimate for confirmation within `targetBlocks`, sat/kw, or null when it has none. */
  estimateFeerate(targetBlocks: number): Promise<bigint | null>;
  /** The feerate when the backend has no estimate (the wallet's fallback). */
  feeratePerKw(): Promise<bigint>;
  /** A wallet transaction paying `outputs` (vout = position) at `feeratePerKw`, signed, not yet published; `broadcast` publishes it through the wallet. */
  fundFeeInputs(outputs: { script: Buffer; amountSat: bigint }[], feeratePerKw: bigint): Promise<{ txid: string; hex: string; broadcast(): Promise<void> }>;
  log: Logger;
  /** Preimages beyond the channels' own fulfils (paid invoices, forwards): HTLCs offered to us are claimed with them. */
  preimages?: PreimageSource;
  /**
   * What became of an HTLC we offered, on chain (fulfilled with the preimage, or failed): told at every
   * block while the channel resolves, so a restart hears it again (the listener ignores what it knows).
   */
  offeredHtlcResolved?(ch: Channel, ev: OfferedHtlcOutcome): void;
  /** The funding output of `ch` was spent by `tx` (raw hex): a close is final. */
  closed(ch: Channel, kind: 'mutual' | 'unilateral', txid: string, hex: string): void;
}

const live = (s: OnchainSweep): boolean => s.confirmedAt === undefined && s.dropped === undefined;
const open = (o: OnchainOutput): boolean => o.spentBy === undefined && o.abandoned === undefined;
/** An output's outpoint: on the funding spend, or on the transaction named with it. */
const keyOf = (oc: OnchainState, o: OnchainOutput): string => `${o.txid ?? oc.spendTxid}:${o.vout}`;
/** What a fee input holds beyond the fee it pays (the change it leaves, above the dust limit). */
const FEE_INPUT_MARGIN_SAT = 1000n;
/** The delayed output (vout `vout` of our HTLC transaction `txid`) that HTLC `h` becomes. */
const delayed = (txid: string, h: HtlcTransaction, vout: number): OnchainOutput => ({ txid, vout, what: 'htlc_delayed', fromVout: h.output.vout, amountSat: h.t.outputs[0].amountSat, notBefore: 0 });
/** Resolved through our pre-signed HTLC transaction rather than a sweep. */
const PRESIGNED = new Set(['htlc_timeout_tx', 'htlc_success_tx']);

export class Sweeper {
  readonly #c: SweeperContext;

  constructor(c: SweeperContext) {
    this.#c = c;
  }

  /** The backend's best height as asked at the block being handled (once per block, for every channel). */
  #best: { height: number; best: Promise<number> } | undefined;

  /**
   * Whether the block at `height` is behind the backend's best block: the node is catching up (it was
   * off, or blocks came in a burst). No sweep is built or bumped on such a block: its mempool is the
   * tip's, so a fee function would start from a height long past and climb toward its budget with each
   * old block handled. Sweeps are first offered, and their fee functions count, from the tip on.
   */
  async #catchingUp(height: number): Promise<boolean> {
    const ask = this.#c.chain.getBlockCount;
    if (!ask) return false;
    if (this.#best?.height !== height) this.#best = { height, best: ask.call(this.#c.chain).catch(() => height) };
    return (await this.#best.best) > height;
  }

  /** Each transaction's last publishing outcome ('ok' or the error), so that the log says each once, not once per block. */
  readonly #outcomes = new Map<string, string>();

  /** Publishes `hex`; false when the backend refused it (logged once per outcome: every block publishes again what is still live). */
  async publish(hex: string, what: string): Promise<boolean> {
    let txid = '?';
    try {
      txid = parseTransaction(Buffer.from(hex, 'hex')).txid;
    } catch {
      /* the backend will say what is wrong with it */
    }
    let outcome = 'ok';
    try {
      await this.#c.chain.sendRawTransaction(hex);
    } catch (err) {
      outcome = (err as Error).message;
    }
    const news = this.#outcomes.get(txid) !== outcome;
    this.#outcomes.delete(txid);
    this.#outcomes.set(txid, outcome);
    if (this.#outcomes.size > 1000) this.#outcomes.delete(this.#outcomes.keys().next().value!);
    if (outcome === 'ok') (news ? this.#c.log.info : this.#c.log.debug).call(this.#c.log, { what, txid }, `published ${what} ${txid}`);
    else (news ? this.#c.log.warn : this.#c.log.debug).call(this.#c.log, { what, txid, err: outcome }, `publishing ${what} ${txid} failed (will retry on every block)`);
    return outcome === 'ok';
  }

  /** The spends of live funding outputs, and of the outputs we resolve (by our sweeps or anyone), in `b`. */
  async scan(b: ConnectedBlock): Promise<void> {
    const byFunding = new Map<string, Channel>();
    const watched = new Map<string, Channel>();
    const ours = new Map<string, Channel>();
    const watch = (ch: Channel): void => {
      const oc = ch.data.onchain!;
      for (const o of oc.outputs ?? []) if (o.spentBy === undefined) watched.set(keyOf(oc, o), ch);
      for (const s of oc.sweeps) if (s.confirmedAt === undefined) ours.set(s.txid, ch);
      for (const f of oc.feeTxs ?? []) if (f.confirmedAt === undefined) ours.set(f.txid, ch);
    };
    for (const ch of this.#c.registry.all()) {
      if (!ch.data.onchain) byFunding.set(`${ch.data.funding.txid}:${ch.data.funding.vout}`, ch);
      else watch(ch);
    }
    for (const tx of b.block.transactions) {
      const touched = new Set<Channel>();
      for (const input of tx.inputs) {
        const key = `${input.txid}:${input.vout}`;
        const ch = byFunding.get(key);
        if (ch && !ch.data.onchain) {
          await this.#onFundingSpent(ch, tx, b.height);
          watch(ch);
        }
        const w = watched.get(key);
        if (w) touched.add(w);
      }
      const mine = ours.get(tx.txid);
      if (mine) touched.add(mine);
      for (const ch of touched) {
        const created = await secondStageRevoked(ch.data, this.#c.registry.keys(ch.data.keyIndex), tx, b.height, this.#c.revocations);
        await ch.onchainStep((oc) => this.#spent(ch, oc, tx, b.height, created));
        if (created.length > 0) watch(ch);
      }
    }
  }

  /**
   * `tx`, confirmed at `height`, spends outputs of `oc` (or is one of our sweeps): record who took what,
   * drop the sweeps it invalidates, and plan the outputs it `created` for us (the cheater's second-stage
   * HTLC transactions, taken by revocation).
   */
  #spent(ch: Channel, oc: OnchainState, tx: BlockTransaction, height: number, created: OnchainOutput[]): void {
    const sweep = oc.sweeps.find((s) => s.txid === tx.txid && s.confirmedAt === undefined);
    if (sweep) {
      sweep.confirmedAt = height;
      delete sweep.dropped; // a replaced sweep may still be the one mined
      // Our HTLC transactions confirmed: their outputs are ours after our delay.
      for (const o of sweep.creates ?? []) oc.outputs!.push({ ...o, notBefore: height + ch.data.remote.toSelfDelay });
    }
    const feeTx = oc.feeTxs?.find((f) => f.txid === tx.txid && f.confirmedAt === undefined);
    if (feeTx) feeTx.confirmedAt = height;
    const spent = new Set(tx.inputs.map((i) => `${i.txid}:${i.vout}`));
    const hashes = new Set([...offeredHtlcs(ch.data).values()].map((h) => h.paymentHash.toString('hex')));
    for (const o of oc.outputs ?? []) {
      if (!spent.has(keyOf(oc, o)) || o.spentBy) continue;
      o.spentBy = { txid: tx.txid, height, ours: sweep !== undefined };
      // An HTLC we offered taken with its preimage: written with the spend, for the payment it belongs to.
      if (!sweep && OFFERED_HTLC_OUTPUTS.has(o.what)) {
        const preimage = witnessPreimage(tx.raw, tx.inputs.findIndex((i) => `${i.txid}:${i.vout}` === keyOf(oc, o)), hashes);
        if (preimage) o.spentBy.preimage = preimage.toString('hex');
      }
      if (!sweep) this.#c.log.warn({ channel: ch.id, vout: o.vout, what: o.what, txid: tx.txid }, 'an output we were sweeping was spent by another transaction');
    }
    for (const o of created) {
      if (sweep || oc.outputs!.some((x) => x.txid === o.txid && x.vout === o.vout)) continue;
      oc.outputs!.push(o);
      this.#c.log.warn({ channel: ch.id, txid: tx.txid, vout: o.vout, fromVout: o.fromVout }, 'the cheater took a revoked HTLC output through its second-stage transaction: taking that output by revocation');
    }
    for (const s of oc.sweeps) {
      if (s.confirmedAt !== undefined || s === sweep || !(s.spends ?? []).some((k) => spent.has(k))) continue;
      s.dropped = { reason: 'input_spent', txid: tx.txid, height };
      this.#c.log.info({ channel: ch.id, sweep: s.txid, by: tx.txid }, 'sweep dropped: an input was spent by another transaction');
    }
  }

  /**
   * The block at `height` left the main chain: what it confirmed is unconfirmed again (written), so live
   * sweeps are published again and the outputs they spend are open; an HTLC transaction's delayed output
   * is forgotten until the transaction confirms again. (A reorganised funding spend keeps its plan: the
   * same commitment is expected back.)
   */
  async disconnected(height: number): Promise<void> {
    const after = (h: number | undefined): boolean => h !== undefined && h >= height;
    for (const ch of this.#c.registry.all()) {
      const oc = ch.data.onchain;
      if (!oc?.outputs) continue;
      const undone = oc.sweeps.filter((s) => after(s.confirmedAt));
      if (undone.length === 0 && !oc.sweeps.some((s) => after(s.dropped?.height)) && !oc.outputs.some((o) => after(o.spentBy?.height))) continue;
      const gone = new Set(undone.filter((s) => s.presigned).map((s) => s.txid));
      await ch.onchainStep((oc) => {
        for (const s of oc.sweeps) {
          if (after(s.confirmedAt)) delete s.confirmedAt;
          if (s.dropped?.reason === 'input_spent' && after(s.dropped.height)) delete s.dropped;
        }
        // Our HTLC transactions' delayed outputs, and the cheater's second-stage outputs, of the lost blocks.
        oc.outputs = oc.outputs!.filter((o) => !(o.txid && gone.has(o.txid)) && !(o.what === 'htlc_second_stage_revoked' && after(o.notBefore)));
        for (const o of oc.outputs) if (after(o.spentBy?.height)) delete o.spentBy;
      });
      this.#c.log.warn({ channel: ch.id, height, unconfirmed: undone.map((s) => s.txid) }, 'reorganisation: on-chain resolution steps undone');
      if (ch.data.state === 'ONCHAIN' && oc.kind !== 'mutual') await ch.setOnchainState('FUNDING_SPEND_SEEN');
    }
  }

  /** A new block for `ch`: publish again what it waits for, bump or build sweeps, settle. */
  async onBlock(ch: Channel, height: number): Promise<void> {
    const d = ch.data;
    if (d.state === 'AWAITING_UNILATERAL' && !d.lostState) {
      await this.publish(ch.localCommitmentTx().hex, 'our commitment');
      if (hasAnchors(d.format)) await this.#cpfp(ch, height);
    }
    if (d.state === 'CLOSINGD_COMPLETE' && d.closing?.txHex) await this.publish(d.closing.txHex, 'closing transaction');
    if (d.onchain) await this.#progress(ch, height);
    if (d.onchain && d.state !== 'CLOSED' && this.#c.offeredHtlcResolved) for (const ev of offeredHtlcOutcomes(d, this.#c.registry.keys(d.keyIndex), height)) this.#c.offeredHtlcResolved(ch, ev);
  }

  /**
   * Our anchors commitment waits in the mempool paying less than the backend's estimate (never a
   * fallback) for its deadline (its earliest HTLC expiry): a child spending our anchor and a wallet-funded
   * input pays for both (the package at the estimate). Written, then the wallet transaction and the child
   * are published; both again every block while the commitment waits. The fee input is sized for the
   * package at {@link BUMP_ROOM} times the estimate, so that when the estimate rises the child is replaced
   * (RBF, the same fee input, written before it is published).
   */
  async #cpfp(ch: Channel, height: number): Promise<void> {
    const d = ch.data;
    const expiries = d.localCommit.spec.htlcs.map((h) => h.add.cltvExpiry);
    const estimate = await this.#c.estimateFeerate(targetBlocks(height, expiries.length > 0 ? Math.min(...expiries) : undefined)).catch(() => null);
    const cp = d.cpfp;
    if (cp) {
      await this.publish(cp.feeTx.hex, 'fee input');
      if (estimate !== null && estimate >= cp.child.feeratePerKw + BUMP_STEP_PER_KW) {
        const feeInput = { txid: cp.feeTx.txid, vout: cp.feeVout, amountSat: cp.feeAmountSat };
        const dest = Buffer.from(parseTransaction(Buffer.from(cp.child.hex, 'hex')).outputs[0]!.script);
        const t = this.#cpfpChild(ch, estimate, height, dest, feeInput);
        if (t) {
          await ch.cpfpBuilt({ ...cp, child: { txid: t.txid, hex: t.hex, feeratePerKw: estimate } });
          this.#c.log.info({ channel: ch.id, from: cp.child.feeratePerKw.toString(), to: estimate.toString() }, 'cpfp fee bumped (RBF)');
          await this.publish(t.hex, 'cpfp');
          return;
        }
      }
      await this.publish(cp.child.hex, 'cpfp');
      return;
    }
    if (estimate === null || estimate <= d.localCommit.spec.feeratePerKw) return;
    const dest = await this.#c.walletScript();
    const need = this.#cpfpNeed(ch, estimate * BUMP_ROOM, dest);
    if (need === null || this.#cpfpNeed(ch, estimate, dest) === null) return;
    const amountSat = need + FEE_INPUT_MARGIN_SAT;
    let feeTx: Awaited<ReturnType<SweeperContext['fundFeeInputs']>>;
    try {
      feeTx = await this.#c.fundFeeInputs([{ script: p2wpkh(secp.publicKey(feeInputKey(this.#c.registry.keys(d.keyIndex)))), amountSat }], estimate);
    } catch (err) {
      this.#c.log.warn({ channel: ch.id, err: (err as Error).message }, 'cpfp: no wallet funds (will retry on the next block)');
      return;
    }
    const t = this.#cpfpChild(ch, estimate, height, dest, { txid: feeTx.txid, vout: 0, amountSat });
    if (!t) return;
    await ch.cpfpBuilt({ feeTx: { txid: feeTx.txid, hex: feeTx.hex }, feeVout: 0, feeAmountSat: amountSat, child: { txid: t.txid, hex: t.hex, feeratePerKw: estimate } });
    this.#c.log.info({ channel: ch.id, commitmentPerKw: d.localCommit.spec.feeratePerKw.toString(), packagePerKw: estimate.toString() }, 'cpfp: our commitment bumped through its anchor');
    await feeTx.broadcast().catch((err: Error) => this.#c.log.warn({ channel: ch.id, err: err.message }, 'fee input: publish failed (will retry on the next block)'));
    await this.publish(t.hex, 'cpfp');
  }

  /** Our commitment, its anchor and the weight of a child paying `dest` (with a P2WPKH fee input). */
  #cpfpParts(ch: Channel, dest: Buffer): { c: ReturnType<typeof buildCommitment>; anchor: SweepInput | null; feeKey: Buffer; childWeight: bigint } {
    const d = ch.data;
    const keys = this.#c.registry.keys(d.keyIndex);
    const c = buildCommitment(d, 'local', d.localCommit.index, keys.point(d.localCommit.index), d.localCommit.spec);
    const anchor = anchorInput({ commitment: c, txid: d.localCommit.txid, which: 'to_local_anchor', fundingPrivkey: keys.fundingPrivkey });
    const feeKey = feeInputKey(keys);
    const placeholder = { kind: 'p2wpkh' as const, txid: '00'.repeat(32), vout: 0, amountSat: 1n, privkey: feeKey };
    return { c, anchor, feeKey, childWeight: BigInt(sweepWeight(anchor ? [anchor, placeholder] : [placeholder], dest)) };
  }

  /** What the child must pay for the package (commitment and child) at `packagePerKw`, or null when nothing (or no anchor). */
  #cpfpNeed(ch: Channel, packagePerKw: bigint, dest: Buffer): bigint | null {
    const { c, anchor, childWeight } = this.#cpfpParts(ch, dest);
    if (!anchor) return null;
    const need = (packagePerKw * (commitmentWeight(c.outputs.filter((o) => o.htlc).length, c.format) + childWeight) + 999n) / 1000n - c.feeSat;
    return need > 0n ? need : null;
  }

  /** The child paying the package at `packagePerKw` from `feeInput`, or null when it cannot (nothing to pay, or more than the input holds). */
  #cpfpChild(ch: Channel, packagePerKw: bigint, height: number, dest: Buffer, feeInput: { txid: string; vout: number; amountSat: bigint }): { txid: string; hex: string } | null {
    const { anchor, feeKey, childWeight } = this.#cpfpParts(ch, dest);
    const need = this.#cpfpNeed(ch, packagePerKw, dest);
    if (!anchor || need === null) return null;
    const childRate = (need * 1000n + childWeight - 1n) / childWeight;
    try {
      return buildSweepTx({ inputs: [anchor, { kind: 'p2wpkh', ...feeInput, privkey: feeKey }], destScript: dest, feeratePerKw: childRate, lockTime: height });
    } catch (err) {
      this.#c.log.warn({ channel: ch.id, err: (err as Error).message }, 'cpfp: the fee input cannot pay this feerate');
      return null;
    }
  }

  /**
   * LND's WalletKit.BumpFee over our sweeps: the live sweep spending `outpoint` (an output of a closed
   * channel we resolve) replaced now at `feeratePerKw`, or at the backend's estimate for `targetConf`
   * blocks; `budgetSat` caps what its fee function may reach. The replacement follows the fee function
   * from that rate (to the sweep's deadline, else `targetConf` blocks on) and is written before it is
   * published, as every bump. Refused (ChannelError) when nothing sweeps the outpoint yet, or the rate is
   * not a step above the current one.
   */
  async bumpFee(outpoint: string, pref: { feeratePerKw?: bigint; targetConf?: number; budgetSat?: bigint }, height: number): Promise<{ txid: string; feeratePerKw: bigint }> {
    for (const ch of this.#c.registry.all()) {
      const oc = ch.data.onchain;
      const o = oc?.outputs?.find((x) => open(x) && keyOf(oc, x) === outpoint);
      if (!oc || !o) continue;
      const s = oc.sweeps.find((x) => live(x) && (x.spends ?? []).includes(outpoint));
      if (!s) throw new ChannelError('INVALID', `${outpoint} is not being swept yet (its sweep may confirm from height ${o.notBefore})`);
      if (s.presigned && !s.fee) throw new ChannelError('INVALID', `${outpoint} is spent by a pre-signed HTLC transaction whose fee is fixed`);
      const target = pref.targetConf ?? NO_DEADLINE_TARGET;
      const rate = pref.feeratePerKw ?? (await this.#c.estimateFeerate(target).catch(() => null));
      if (rate === null) throw new ChannelError('INVALID', `no fee estimate for ${target} blocks: give a fee rate`);
      const least = (s.feeratePerKw ?? 0n) + BUMP_STEP_PER_KW;
      if (rate < least) throw new ChannelError('INVALID_AMOUNT', `fee rate ${rate} sat/kw does not replace the sweep ${s.txid}: at least ${least} sat/kw`);
      const weight = BigInt(parseTransaction(Buffer.from(s.hex, 'hex')).raw.length * 4);
      const cap = pref.budgetSat !== undefined ? (pref.budgetSat * 1000n) / weight : (s.fee?.maxPerKw ?? rate);
      if (cap < rate) throw new ChannelError('INVALID_AMOUNT', `fee rate ${rate} sat/kw exceeds the budget of ${pref.budgetSat} sat`);
      const fee: FeeFunction = { from: height, deadline: s.fee?.deadline ?? height + target, startPerKw: rate, maxPerKw: cap };
      const built = s.presigned ? await this.#rebuildHtlcTx(ch, s, height, rate, fee) : await this.#build(ch, this.#outputs(oc, s), height, rate, fee, s);
      const next = oc.sweeps.at(-1)!;
      if (!built || next === s) throw new ChannelError('INVALID', `the replacement of ${s.txid} could not be built`);
      return { txid: next.txid, feeratePerKw: rate };
    }
    throw new ChannelError('INVALID', `${outpoint} is not an output of a closed channel that anode sweeps`);
  }

  /** What is being swept (LND's PendingSweeps): each open output with its live sweep, if any. */
  pendingSweeps(): { outpoint: string; what: string; amountSat: bigint; sweep?: OnchainSweep; notBefore: number }[] {
    const out: ReturnType<Sweeper['pendingSweeps']> = [];
    for (const ch of this.#c.registry.all()) {
      const oc = ch.data.onchain;
      for (const o of oc?.outputs ?? []) {
        if (!open(o)) continue;
        const key = keyOf(oc!, o);
        const sweep = oc!.sweeps.find((x) => live(x) && (x.spends ?? []).includes(key));
        out.push({ outpoint: key, what: o.what, amountSat: o.amountSat, notBefore: o.notBefore, ...(sweep ? { sweep } : {}) });
      }
    }
    return out;
  }

  /** The funding output was spent: work out by whom and what we can take, and write it before anything else. */
  async #onFundingSpent(ch: Channel, tx: BlockTransaction, height: number): Promise<void> {
    const d = ch.data;
    const r = await resolveFundingSpend(d, this.#c.registry.keys(d.keyIndex), tx.txid, height, this.#c.revocations, this.#c.preimages);
    if (r.kind === 'revoked') this.#c.log.warn({ channel: ch.id, txid: tx.txid, commit: r.revokedIndex!.toString() }, 'counterparty published a REVOKED commitment: sweeping it all');
    // A child of our commitment (CPFP): its wallet-funded input is ours to take back if the child does not confirm.
    const cp = d.cpfp;
    const feeInput: OnchainOutput[] = cp ? [{ txid: cp.feeTx.txid, vout: cp.feeVout, what: 'fee_input', amountSat: cp.feeAmountSat, notBefore: height }] : [];
    const child: OnchainSweep[] = cp && r.kind === 'local' ? [{ txid: cp.child.txid, hex: cp.child.hex, notBefore: height, what: 'cpfp', spends: [`${cp.feeTx.txid}:${cp.feeVout}`], feeratePerKw: cp.child.feeratePerKw }] : [];
    await ch.fundingSpent({ spendTxid: tx.txid, kind: r.kind, height, sweeps: child, pending: [], outputs: [...r.outputs, ...feeInput], ...(cp ? { feeTxs: [cp.feeTx] } : {}) });
    this.#c.log.info({ channel: ch.id, kind: r.kind, txid: tx.txid, outputs: r.outputs.length }, 'funding output spent');
    await this.#c.backups?.markChannelClosed?.(d.channelId, height).catch((err: Error) => this.#c.log.warn({ err: err.message }, 'wtclient: markChannelClosed failed'));
    this.#c.closed(ch, r.kind === 'mutual' ? 'mutual' : 'unilateral', tx.txid, Buffer.from(tx.raw).toString('hex'));
  }

  async #progress(ch: Channel, height: number): Promise<void> {
    const d = ch.data;
    if (!d.onchain!.outputs) await this.#upgrade(ch);
    const oc = d.onchain!;
    // The wallet transactions paying our HTLC transactions' fees go first (their children spend them).
    for (const f of oc.feeTxs ?? []) if (f.confirmedAt === undefined) await this.publish(f.hex, 'fee input');
    const catchingUp = await this.#catchingUp(height);
    for (const s of oc.sweeps.filter(live)) {
      const bump = s.fee && s.feeratePerKw !== undefined && !catchingUp ? bumpTo(s.fee, s.feeratePerKw, height) : null;
      if (bump !== null && (await (s.presigned ? this.#rebuildHtlcTx(ch, s, height, bump) : this.#build(ch, this.#outputs(oc, s), height, bump, s.fee!, s)))) continue;
      if ((await this.publish(s.hex, `sweep (${s.what})`)) && s.publishedAt === undefined) await ch.onchainStep(() => (s.publishedAt = height));
    }
    const busy = new Set(oc.sweeps.filter(live).flatMap((s) => s.spends ?? []));
    const due = catchingUp ? [] : oc.outputs!.filter((o) => open(o) && !busy.has(keyOf(oc, o)) && height + 1 >= o.notBefore);
    await this.#htlcTxs(ch, due.filter((x) => PRESIGNED.has(x.what)), height);
    for (const g of groupByDeadline(due.filter((x) => !PRESIGNED.has(x.what)))) await this.#buildGroup(ch, g.outputs, g.deadline, height);
    const settled = oc.outputs!.every((o) => !open(o)) && !oc.sweeps.some(live);
    if (d.state === 'FUNDING_SPEND_SEEN' && settled) await ch.setOnchainState('ONCHAIN');
    if (d.state === 'ONCHAIN' && settled && height >= oc.height + 100 && !abandonedOfferedPending(oc, height)) await ch.setOnchainState('CLOSED');
  }

  #outputs(oc: OnchainState, s: OnchainSweep): OnchainOutput[] {
    return oc.outputs!.filter((o) => s.spends!.includes(keyOf(oc, o)));
  }

  /**
   * Our HTLC transactions for `outs`, all written in one step, then published: each signed alone
   * (static_remotekey: its fee set with the commitment), or, with zero-fee anchors, joined by locktime
   * and paid by a wallet-funded fee input each (the wallet transaction written and published first).
   */
  async #htlcTxs(ch: Channel, outs: OnchainOutput[], height: number): Promise<void> {
    if (outs.length === 0) return;
    const oc = ch.data.onchain!;
    const keys = this.#c.registry.keys(ch.data.keyIndex);
    const { htlcs, localHtlcPrivkey } = await htlcTransactions(ch.data, keys, outs, this.#c.preimages);
    const usable = new Set(htlcs.map((h) => h.output));
    const sweeps: OnchainSweep[] = [];
    const feeOutputs: OnchainOutput[] = [];
    let feeTx: { txid: string; hex: string; broadcast(): Promise<void> } | undefined;
    const alone = htlcs.filter((h) => h.signed);
    for (const h of alone) sweeps.push({ txid: h.signed!.txid, hex: h.signed!.hex, notBefore: h.output.notBefore, what: h.output.what, spends: [keyOf(oc, h.output)], presigned: true, creates: [delayed(h.signed!.txid, h, 0)] });
    const byLockTime = new Map<number, HtlcTransaction[]>();
    for (const h of htlcs) if (!h.signed) byLockTime.set(h.t.lockTime, [...(byLockTime.get(h.t.lockTime) ?? []), h]);
    const joined = [...byLockTime.values()];
    if (joined.length > 0) {
      const change = await this.#c.walletScript();
      const feeKey = feeInputKey(keys);
      const feeScript = p2wpkh(secp.publicKey(feeKey));
      const plans: { g: HtlcTransaction[]; rate: bigint; fee: FeeFunction | undefined; amountSat: bigint; bare: bigint }[] = [];
      for (const g of joined) {
        const deadline = Math.min(...g.map((h) => h.output.deadline ?? Infinity));
        const rate = (await this.#c.estimateFeerate(targetBlocks(height, Number.isFinite(deadline) ? deadline : undefined)).catch(() => null)) ?? (await this.#c.feeratePerKw());
        const weight = BigInt(anchorsHtlcWeight(g, change));
        // With a deadline, the fee function from the estimate to the budget (RBF on the way): the fee input is sized for its top.
        const fee = Number.isFinite(deadline) ? feeFunction(height, deadline, rate, g.reduce((s, h) => s + h.output.amountSat, 0n), Number(weight)) : undefined;
        const at = (perKw: bigint): bigint => (weight * perKw + 999n) / 1000n + FEE_INPUT_MARGIN_SAT;
        plans.push({ g, rate: fee?.startPerKw ?? rate, fee, amountSat: at(fee?.maxPerKw ?? rate), bare: at(fee?.startPerKw ?? rate) });
      }
      const fund = (amount: (p: (typeof plans)[number]) => bigint): ReturnType<SweeperContext['fundFeeInputs']> => this.#c.fundFeeInputs(plans.map((p) => ({ script: feeScript, amountSat: amount(p) })), plans[0]!.rate);
      try {
        feeTx = await fund((p) => p.amountSat).catch(async () => {
          // Not enough for the budget: the start feerate alone, without bumps.
          const r = await fund((p) => p.bare);
          for (const p of plans) [p.amountSat, p.fee] = [p.bare, undefined];
          return r;
        });
      } catch (err) {
        this.#c.log.warn({ channel: ch.id, err: (err as Error).message }, 'no wallet funds for the HTLC transactions’ fees (will retry on the next block)');
        plans.length = 0;
      }
      plans.forEach((p, vout) => {
        const t = buildAnchorsHtlcTx({ htlcs: p.g, localHtlcPrivkey, fee: { txid: feeTx!.txid, vout, amountSat: p.amountSat, privkey: feeKey }, changeScript: change, feeratePerKw: p.rate });
        const fee: OnchainOutput = { txid: feeTx!.txid, vout, what: 'fee_input', amountSat: p.amountSat, notBefore: height };
        feeOutputs.push(fee);
        sweeps.push({ txid: t.txid, hex: t.hex, notBefore: Math.max(...p.g.map((h) => h.output.notBefore)), what: p.g[0]!.output.what, spends: [...p.g.map((h) => keyOf(oc, h.output)), keyOf(oc, fee)], presigned: true, feeratePerKw: p.rate, ...(p.fee ? { fee: p.fee } : {}), creates: p.g.map((h, i) => delayed(t.txid, h, i)) });
      });
    }
    await ch.onchainStep((oc) => {
      for (const o of outs) if (!usable.has(o)) o.abandoned = 'no HTLC signature or preimage';
      if (feeTx && feeOutputs.length > 0) (oc.feeTxs ??= []).push({ txid: feeTx.txid, hex: feeTx.hex });
      oc.outputs!.push(...feeOutputs);
      oc.sweeps.push(...sweeps);
    });
    if (feeTx && feeOutputs.length > 0) await feeTx.broadcast().catch((err: Error) => this.#c.log.warn({ channel: ch.id, err: err.message }, 'fee input: publish failed (will retry on the next block)'));
    const accepted: OnchainSweep[] = [];
    for (const s of sweeps) if (await this.publish(s.hex, s.what)) accepted.push(s);
    if (accepted.length > 0) await ch.onchainStep(() => accepted.forEach((s) => (s.publishedAt = height)));
  }

  /**
   * A joined anchors HTLC transaction `s` replaced at `feeratePerKw` (its fee function's next step): the
   * same HTLCs and fee input, less change; written, then published. False when the fee input cannot pay it.
   */
  async #rebuildHtlcTx(ch: Channel, s: OnchainSweep, height: number, feeratePerKw: bigint, fee = s.fee): Promise<boolean> {
    const oc = ch.data.onchain!;
    const outs = this.#outputs(oc, s);
    const feeOut = outs.find((o) => o.what === 'fee_input');
    if (!feeOut) return false;
    const keys = this.#c.registry.keys(ch.data.keyIndex);
    const { htlcs, localHtlcPrivkey } = await htlcTransactions(ch.data, keys, outs.filter((o) => o !== feeOut), this.#c.preimages);
    const prev = parseTransaction(Buffer.from(s.hex, 'hex'));
    let t;
    try {
      t = buildAnchorsHtlcTx({ htlcs, localHtlcPrivkey, fee: { txid: feeOut.txid!, vout: feeOut.vout, amountSat: feeOut.amountSat, privkey: feeInputKey(keys) }, changeScript: Buffer.from(prev.outputs.at(-1)!.script), feeratePerKw });
    } catch (err) {
      this.#c.log.warn({ channel: ch.id, what: s.what, err: (err as Error).message }, 'HTLC transaction: the fee input cannot pay the bump');
      return false;
    }
    const next: OnchainSweep = { txid: t.txid, hex: t.hex, notBefore: s.notBefore, what: s.what, spends: s.spends!, presigned: true, feeratePerKw, ...(fee ? { fee } : {}), creates: htlcs.map((h, i) => delayed(t.txid, h, i)) };
    await ch.onchainStep((oc) => {
      s.dropped = { reason: 'replaced', txid: t.txid, height };
      oc.sweeps.push(next);
    });
    this.#c.log.info({ channel: ch.id, what: s.what, from: s.feeratePerKw?.toString(), to: feeratePerKw.toString() }, 'HTLC transaction fee bumped (RBF)');
    if (await this.publish(t.hex, s.what)) await ch.onchainStep(() => (next.publishedAt = height));
    return true;
  }

  /** A first sweep of `outs`: at the backend's estimate for the blocks left (its fee function when there is a deadline). */
  async #buildGroup(ch: Channel, outs: OnchainOutput[], deadline: number | undefined, height: number): Promise<void> {
    const estimate = (await this.#c.estimateFeerate(targetBlocks(height, deadline)).catch(() => null)) ?? (await this.#c.feeratePerKw());
    let fee: FeeFunction | undefined;
    if (deadline !== undefined) {
      const inputs = await plannedInputs(ch.data, this.#c.registry.keys(ch.data.keyIndex), outs, this.#c.revocations, this.#c.preimages);
      // The destination is P2WPKH: its size stands for any wallet script's here.
      fee = feeFunction(height, deadline, estimate, outs.reduce((s, o) => s + o.amountSat, 0n), sweepWeight(inputs, Buffer.alloc(22)));
    }
    await this.#build(ch, outs, height, fee?.startPerKw ?? estimate, fee);
  }

  /** Builds, writes, then publishes a sweep of `outs` (replacing `replaces`, when given); false when it cannot be built. */
  async #build(ch: Channel, outs: OnchainOutput[], height: number, feeratePerKw: bigint, fee: FeeFunction | undefined, replaces?: OnchainSweep): Promise<boolean> {
    const d = ch.data;
    const inputs = await plannedInputs(d, this.#c.registry.keys(d.keyIndex), outs, this.#c.revocations, this.#c.preimages);
    const what = [...new Set(inputs.map((i) => i.kind))].join('+');
    // A replacement pays the same wallet script as the sweep it replaces.
    const dest = replaces ? Buffer.from(parseTransaction(Buffer.from(replaces.hex, 'hex')).outputs[0]!.script) : await this.#c.walletScript();
    let tx;
    try {
      tx = buildSweepTx({ inputs, destScript: dest, feeratePerKw, lockTime: height });
    } catch (err) {
      if (replaces || !(err instanceof ChannelError && err.code === 'INVALID_AMOUNT')) {
        this.#c.log.error({ channel: ch.id, what, err: (err as Error).message }, 'cannot build sweep');
        return false;
      }
      // Worth less than its fee: left on chain, recorded.
      await ch.onchainStep(() => outs.forEach((o) => (o.abandoned = (err as Error).message)));
      this.#c.log.warn({ channel: ch.id, what, err: (err as Error).message }, 'output not worth sweeping: abandoned');
      return false;
    }
    const notBefore = Math.max(height, ...outs.map((o) => o.notBefore));
    const spends = outs.map((o) => keyOf(d.onchain!, o));
    const sweep: OnchainSweep = { txid: tx.txid, hex: tx.hex, notBefore, what, spends, feeratePerKw, ...(fee ? { fee } : {}) };
    await ch.onchainStep((oc) => {
      if (replaces) replaces.dropped = { reason: 'replaced', txid: tx.txid, height };
      oc.sweeps.push(sweep);
    });
    if (replaces) this.#c.log.info({ channel: ch.id, what, from: replaces.feeratePerKw?.toString(), to: feeratePerKw.toString() }, 'sweep fee bumped (RBF)');
    if (await this.publish(tx.hex, `sweep (${what})`)) await ch.onchainStep(() => (sweep.publishedAt = height));
    return true;
  }

  /** A state written before issue 12 (pending list, sweeps without inputs): the plan rebuilt, what our sweeps took marked. */
  async #upgrade(ch: Channel): Promise<void> {
    const d = ch.data;
    const oc = d.onchain!;
    const r = await resolveFundingSpend(d, this.#c.registry.keys(d.keyIndex), oc.spendTxid, oc.height, this.#c.revocations, this.#c.preimages);
    await ch.onchainStep((oc) => {
      for (const s of oc.sweeps) s.spends ??= parseTransaction(Buffer.from(s.hex, 'hex')).inputs.map((i) => `${i.txid}:${i.vout}`);
      oc.outputs = r.outputs.map((o) => {
        const s = oc.sweeps.find((x) => x.spends!.includes(keyOf(oc, o)) && x.confirmedAt !== undefined);
        return s ? { ...o, spentBy: { txid: s.txid, height: s.confirmedAt!, ours: true } } : o;
      });
      oc.pending = [];
    });
  }
}
