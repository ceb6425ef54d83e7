/**
 * The channels' side of each block once a close is under way: spends of funding outputs (handed to the
 * resolver, its immediate outputs swept), pending outputs swept when their delay has passed, our sweeps
 * watched until they confirm, and every transaction we depend on published again until it is mined
 * (our commitment, the mutual close, unconfirmed sweeps). A channel is ONCHAIN once nothing is left to
 * take, and CLOSED 100 blocks after the spend.
 *
 * Fee bumping and deadline-driven second-stage HTLC sweeps belong here.
 */
import type { Logger } from 'pino';
import type { ConnectedBlock } from '../../chain/notifier.js';
import { parseTransaction, type BlockTransaction } from '../../chain/block.js';
import type { ChainSource } from '../../chain/chain-source.js';
import type { ChannelDataRepository } from '../../store/channel-data.js';
import type { BackupSink } from '../backup.js';
import type { Channel } from '../channel.js';
import type { ChannelRegistry } from '../registry.js';
import { buildSweepTx, type SweepInput } from './sweep.js';
import { pendingInput, resolveFundingSpend } from './resolver.js';

export interface SweeperContext {
  chain: Pick<ChainSource, 'sendRawTransaction'>;
  registry: ChannelRegistry;
  revocations: Pick<ChannelDataRepository, 'findRevocation'>;
  backups?: BackupSink;
  /** A fresh wallet output script to sweep to. */
  walletScript(): Promise<Buffer>;
  feeratePerKw(): Promise<bigint>;
  log: Logger;
  /** The funding output of `ch` was spent by `tx` (raw hex): a close is final. */
  closed(ch: Channel, kind: 'mutual' | 'unilateral', txid: string, hex: string): void;
}

export class Sweeper {
  readonly #c: SweeperContext;

  constructor(c: SweeperContext) {
    this.#c = c;
  }

  /** Each transaction's last publishing outcome ('ok' or the error), so that the log says each once, not once per block. */
  readonly #outcomes = new Map<string, string>();

  /** Publishes `hex`; a failure is logged only (every block publishes again what is still unconfirmed). */
  async publish(hex: string, what: string): Promise<void> {
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
  }

  /** The spends of live funding outputs and the confirmations of our sweeps in `b`. */
  async scan(b: ConnectedBlock): Promise<void> {
    // Live funding outputs and unconfirmed sweeps, looked up once per transaction of the block.
    const byFunding = new Map<string, Channel>();
    const sweeps = new Map<string, Channel>();
    for (const ch of this.#c.registry.all()) {
      const oc = ch.data.onchain;
      if (!oc) byFunding.set(`${ch.data.funding.txid}:${ch.data.funding.vout}`, ch);
      else for (const sweep of oc.sweeps) if (sweep.confirmedAt === undefined) sweeps.set(sweep.txid, ch);
    }
    for (const tx of b.block.transactions) {
      for (const input of tx.inputs) {
        const ch = byFunding.get(`${input.txid}:${input.vout}`);
        if (ch && !ch.data.onchain) await this.#onFundingSpent(ch, tx, b.height);
      }
      const swept = sweeps.get(tx.txid);
      if (swept) await swept.sweepConfirmed(tx.txid, b.height);
    }
  }

  /** A new block for `ch`: publish again what it waits for, sweep what has become due, settle. */
  async onBlock(ch: Channel, height: number): Promise<void> {
    const d = ch.data;
    if (d.state === 'AWAITING_UNILATERAL' && !d.lostState) await this.publish(ch.localCommitmentTx().hex, 'our commitment');
    if (d.state === 'CLOSINGD_COMPLETE' && d.closing?.txHex) await this.publish(d.closing.txHex, 'closing transaction');
    if (d.onchain) await this.#progress(ch, height);
  }

  /** The funding output was spent: work out by whom and what we can take. */
  async #onFundingSpent(ch: Channel, tx: BlockTransaction, height: number): Promise<void> {
    const d = ch.data;
    const r = await resolveFundingSpend(d, this.#c.registry.keys(d.keyIndex), tx.txid, height, this.#c.revocations);
    if (r.kind === 'revoked') this.#c.log.warn({ channel: ch.id, txid: tx.txid, commit: r.revokedIndex!.toString() }, 'counterparty published a REVOKED commitment: sweeping it all');
    ch.fundingSpent({ spendTxid: tx.txid, kind: r.kind, height, sweeps: [], pending: r.pending });
    this.#c.log.info({ channel: ch.id, kind: r.kind, txid: tx.txid }, 'funding output spent');
    await this.#c.backups?.markChannelClosed?.(d.channelId, height).catch((err: Error) => this.#c.log.warn({ err: err.message }, 'wtclient: markChannelClosed failed'));
    if (r.inputs.length > 0) await this.#sweep(ch, r.inputs, r.kind === 'revoked' ? 'penalty' : 'to_remote', height);
    await ch.setOnchainState(r.kind === 'mutual' ? 'ONCHAIN' : 'FUNDING_SPEND_SEEN');
    this.#c.closed(ch, r.kind === 'mutual' ? 'mutual' : 'unilateral', tx.txid, Buffer.from(tx.raw).toString('hex'));
  }

  async #sweep(ch: Channel, inputs: SweepInput[], what: string, height: number): Promise<void> {
    const dest = await this.#c.walletScript();
    const feerate = await this.#c.feeratePerKw();
    try {
      const tx = buildSweepTx({ inputs, destScript: dest, feeratePerKw: feerate, lockTime: height });
      await ch.sweepPublished({ txid: tx.txid, hex: tx.hex, notBefore: height, what });
      await this.publish(tx.hex, `sweep (${what})`);
    } catch (err) {
      this.#c.log.error({ channel: ch.id, what, err: (err as Error).message }, 'cannot build sweep');
    }
  }

  async #progress(ch: Channel, height: number): Promise<void> {
    const d = ch.data;
    const oc = d.onchain!;
    const keys = this.#c.registry.keys(d.keyIndex);
    for (const p of oc.pending.slice()) {
      if (height + 1 < p.notBefore) continue;
      const input = pendingInput(d, keys, p);
      ch.pendingDue(p);
      if (input) await this.#sweep(ch, [input], p.what, height);
      else await ch.saveOnchain();
    }
    for (const s of oc.sweeps) if (s.confirmedAt === undefined) await this.publish(s.hex, `sweep (${s.what})`);
    const settled = oc.pending.length === 0 && oc.sweeps.every((s) => s.confirmedAt !== undefined);
    if (d.state === 'FUNDING_SPEND_SEEN' && settled) await ch.setOnchainState('ONCHAIN');
    if (d.state === 'ONCHAIN' && settled && height >= oc.height + 100) await ch.setOnchainState('CLOSED');
  }
}
