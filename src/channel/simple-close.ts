/**
 * option_simple_close (BOLT 2 "Closing Negotiation: closing_complete and closing_sig", BOLT 3 "Closing
 * Transaction"): each side proposes its own closing transaction, paying the fee from its own balance,
 * and the other side signs it. Used when both peers negotiated the feature; `close.ts` is the legacy
 * `closing_signed` negotiation otherwise.
 *
 * - The closer's transaction: version 2, nLockTime from the message (we use the chain height), sequence
 *   0xFFFFFFFD (replaceable), outputs in BIP 69 order; the closer's output is its balance minus the fee
 *   (zero for an OP_RETURN script), the closee's its whole balance.
 * - The closer signs the variants it offers: the side with less omits its own output when it would be
 *   dust (`closee_output_only`); the other side never does, but pays to an OP_RETURN when its output would
 *   be dust, and offers `closer_output_only` (only that when the closee's output is dust).
 * - The closee signs the variant BOLT 2 selects for it, publishes it and answers `closing_sig`.
 * - Either side may send another `closing_complete` (a replacement at a higher fee) once its previous one
 *   was answered; every proposed transaction's txid is kept, since any of them may confirm.
 * - A reconnection restarts the exchange (both shutdowns again, then new closing_complete messages).
 */
import { Transaction } from '@scure/btc-signer';
import { compareOutputs } from '../bitcoin/bip69.js';
import { fundingScript } from '../bitcoin/bolt3-scripts.js';
import { compactSizeLength, dustThreshold, outputSize } from '../bitcoin/weight.js';
import type { ChannelEnv } from './channel.js';
import { isStandardShutdownScript, serializeSignedClosingTx, signClosingTx, verifyClosingSig, type ClosingTx } from './closing.js';
import { ChannelError, ChannelProtocolError } from './errors.js';
import { MIN_FEERATE_PER_KW } from './fee-policy.js';
import { ChannelMessageType, type ChannelMessage, type ClosingComplete, type ClosingSig } from './messages.js';
import type { ChannelData, ChannelLifecycle, SimpleClosing } from './state.js';

/** What a Channel's environment may add for the close: option_simple_close, warnings, the chain height. */
export interface CloseEnv {
  /** Both peers negotiated option_simple_close on the current connection. */
  simpleClose?(): boolean;
  /** Sends a BOLT 1 `warning` about this channel to the peer. */
  warn?(text: string): void;
  /** The chain's height: the nLockTime of our closing transactions. */
  blockHeight?(): number;
}

export type ClosingVariant = 'closerOutputOnly' | 'closeeOutputOnly' | 'closerAndCloseeOutputs';
export const CLOSING_VARIANTS: readonly ClosingVariant[] = ['closerOutputOnly', 'closeeOutputOnly', 'closerAndCloseeOutputs'];

const OP_RETURN = 0x6a;
const OP_PUSHDATA1 = 0x4c;
/** The OP_RETURN we pay to when our own output would be dust: the shortest push BOLT 2 allows (6 bytes). */
const OP_RETURN_CLOSE_SCRIPT = Buffer.from([OP_RETURN, 6, 0, 0, 0, 0, 0, 0]);

/** BOLT 2: OP_RETURN followed by one push of 6 to 80 bytes (OP_PUSHDATA1 from 76). */
export function isOpReturnCloseScript(s: Uint8Array): boolean {
  if (s.length < 2 || s[0] !== OP_RETURN) return false;
  const n = s[1]!;
  if (n >= 6 && n <= 75) return s.length === 2 + n;
  return n === OP_PUSHDATA1 && s.length >= 3 && s[2]! >= 76 && s[2]! <= 80 && s.length === 3 + s[2]!;
}

/** A script a closing transaction may pay to under option_simple_close. */
export function isSimpleCloseScript(s: Buffer): boolean {
  return isStandardShutdownScript(s) || isOpReturnCloseScript(s);
}

function isDust(amountSat: bigint, script: Uint8Array): boolean {
  return !isOpReturnCloseScript(script) && amountSat < dustThreshold(script);
}

/** Weight of a simple closing transaction paying `scripts` (signatures at their largest). */
export function simpleClosingWeight(scripts: Uint8Array[]): number {
  // version, input count, input (outpoint, empty script, sequence), output count, outputs, locktime
  const base = 4 + 1 + 41 + compactSizeLength(scripts.length) + scripts.reduce((s, x) => s + outputSize(x), 0) + 4;
  // marker and flag, item count, empty item, two signatures, the 71-byte funding script
  return base * 4 + 2 + 1 + 1 + 2 * 74 + 1 + 71;
}

/** The fields both messages carry besides the channel id and signatures. */
export interface SimpleCloseTerms {
  closerScript: Buffer;
  closeeScript: Buffer;
  feeSat: bigint;
  locktime: number;
}

/** The closing transaction `closer` proposed with `m`, in its `variant`, or why it cannot exist. */
export function simpleClosingTx(d: ChannelData, closer: 'local' | 'remote', m: SimpleCloseTerms, variant: ClosingVariant): ClosingTx | string {
  const spec = d.localCommit.spec;
  const [closerBal, closeeBal] = closer === 'local' ? [spec.toLocalMsat / 1000n, spec.toRemoteMsat / 1000n] : [spec.toRemoteMsat / 1000n, spec.toLocalMsat / 1000n];
  if (m.feeSat > closerBal) return `closing_complete: fee ${m.feeSat} sat is more than the closer's ${closerBal} sat`;
  const outputs: { script: Buffer; amountSat: bigint }[] = [];
  if (variant !== 'closeeOutputOnly') outputs.push({ script: m.closerScript, amountSat: isOpReturnCloseScript(m.closerScript) ? 0n : closerBal - m.feeSat });
  if (variant !== 'closerOutputOnly') outputs.push({ script: m.closeeScript, amountSat: isOpReturnCloseScript(m.closeeScript) ? 0n : closeeBal });
  outputs.sort(compareOutputs);
  const tx = new Transaction({ version: 2, lockTime: m.locktime, allowUnknownOutputs: true, disableScriptCheck: true });
  tx.addInput({ txid: d.funding.txid, index: d.funding.vout, sequence: 0xfffffffd });
  for (const o of outputs) tx.addOutput({ script: o.script, amount: o.amountSat });
  return { tx, witnessScript: fundingScript(d.local.fundingPubkey, d.remote.fundingPubkey), amountSat: d.fundingSat, outputs };
}

/** Our closing_complete at `feeratePerKw`: its terms and the variants we sign, or why we cannot propose one (the peer's may still close). */
export function proposeSimpleClose(t: { ourMsat: bigint; theirMsat: bigint; ourScript: Buffer; theirScript: Buffer; feeratePerKw: bigint; locktime: number }): (SimpleCloseTerms & { variants: ClosingVariant[] }) | string {
  const ours = t.ourMsat / 1000n;
  const theirs = t.theirMsat / 1000n;
  const fee = (scripts: Buffer[]): bigint => (t.feeratePerKw * BigInt(simpleClosingWeight(scripts))) / 1000n;
  const base = { closeeScript: t.theirScript, locktime: t.locktime };
  const both = fee([t.ourScript, t.theirScript]);
  if (t.ourMsat < t.theirMsat) {
    // The side with less may leave its own output out (it must when that output would be dust).
    if (ours >= both && !isDust(ours - both, t.ourScript)) return { ...base, closerScript: t.ourScript, feeSat: both, variants: ['closerAndCloseeOutputs'] };
    if (ours < fee([t.theirScript])) return `our ${ours} sat cannot pay a closing fee of ${fee([t.theirScript])} sat`;
    return { ...base, closerScript: t.ourScript, feeSat: ours, variants: ['closeeOutputOnly'] };
  }
  const variants: ClosingVariant[] = isDust(theirs, t.theirScript) ? ['closerOutputOnly'] : ['closerOutputOnly', 'closerAndCloseeOutputs'];
  if (ours >= both && !isDust(ours - both, t.ourScript)) return { ...base, closerScript: t.ourScript, feeSat: both, variants };
  // Our output would be dust: it goes to an OP_RETURN, all of our balance to the fee.
  const needed = fee(variants.length === 2 ? [OP_RETURN_CLOSE_SCRIPT, t.theirScript] : [OP_RETURN_CLOSE_SCRIPT]);
  if (ours < needed) return `our ${ours} sat cannot pay a closing fee of ${needed} sat`;
  return { ...base, closerScript: OP_RETURN_CLOSE_SCRIPT, feeSat: ours, variants };
}

/** The variant a closee must check (BOLT 2), given its own output script and balance and the signatures present. */
export function closeeVariant(closeeScript: Buffer, closeeMsat: bigint, present: ReadonlySet<ClosingVariant>): ClosingVariant {
  if (isDust(closeeMsat / 1000n, closeeScript)) return 'closerOutputOnly';
  return present.has('closerAndCloseeOutputs') ? 'closerAndCloseeOutputs' : 'closeeOutputOnly';
}

function presentSigs(m: ClosingComplete | ClosingSig): Map<ClosingVariant, Buffer> {
  const sigs = new Map<ClosingVariant, Buffer>();
  for (const v of CLOSING_VARIANTS) if (m[v]) sigs.set(v, Buffer.from(m[v]));
  return sigs;
}

/** What the simple close needs of its Channel (its private parts, handed over as closures). */
export interface SimpleCloseHost {
  data(): ChannelData;
  env(): ChannelEnv;
  send(msg: ChannelMessage): void;
  persist(): Promise<void>;
  setState(s: ChannelLifecycle): Promise<void>;
}

/** The option_simple_close exchange of one channel; every call runs inside the Channel's queue. */
export class SimpleCloser {
  readonly #h: SimpleCloseHost;
  /** We proposed on this connection (one closing_complete per connection unless asked to replace it). */
  #proposed = false;

  constructor(host: SimpleCloseHost) {
    this.#h = host;
  }

  #state(): SimpleClosing {
    return (this.#h.data().closing!.simple ??= { txids: [] });
  }

  /** A reconnection: the exchange starts again (BOLT 2), what was proposed is remembered for the chain. */
  restart(): void {
    this.#proposed = false;
    const s = this.#h.data().closing?.simple;
    if (s) s.sent = s.ourScript = s.theirScript = undefined;
  }

  /** A simple-close message in CLOSINGD_COMPLETE is still handled (a replacement by either side). */
  accepts(msg: ChannelMessage): boolean {
    const d = this.#h.data();
    return d.state === 'CLOSINGD_COMPLETE' && !d.onchain && (msg.type === ChannelMessageType.CLOSING_COMPLETE || msg.type === ChannelMessageType.CLOSING_SIG);
  }

  /** Both shutdowns exchanged and no HTLC left: our closing_complete, once per connection. */
  async start(): Promise<void> {
    if (this.#proposed) return;
    this.#proposed = true;
    await this.#propose(await this.#h.env().closingFeerate());
  }

  /** Replaces our closing transaction (RBF) at the current estimate, at least the relay increment above our last fee. */
  async bump(): Promise<void> {
    const s = this.#state();
    if (s.sent) throw new ChannelError('INVALID', 'channel: our closing_complete awaits its closing_sig');
    const estimate = await this.#h.env().closingFeerate();
    this.#proposed = true;
    await this.#propose(estimate, s.lastFeeSat);
  }

  async #propose(feeratePerKw: bigint, above?: bigint): Promise<void> {
    const d = this.#h.data();
    const s = this.#state();
    const t = {
      ourMsat: d.localCommit.spec.toLocalMsat,
      theirMsat: d.localCommit.spec.toRemoteMsat,
      ourScript: d.closing!.localScript!,
      theirScript: s.theirScript ?? d.closing!.remoteScript!,
      feeratePerKw,
      locktime: this.#h.env().blockHeight?.() ?? 0,
    };
    let p = proposeSimpleClose(t);
    // A replacement pays at least the relay increment more than the transaction it replaces (BIP 125).
    if (typeof p !== 'string' && above !== undefined && p.feeSat < above + (MIN_FEERATE_PER_KW * BigInt(simpleClosingWeight([p.closerScript, p.closeeScript]))) / 1000n) {
      p = proposeSimpleClose({ ...t, feeratePerKw: ((above * 1000n) / BigInt(simpleClosingWeight([p.closerScript, p.closeeScript]))) + MIN_FEERATE_PER_KW + 1n });
    }
    if (typeof p === 'string') {
      this.#h.env().log.info({ channel: d.channelId.toString('hex'), reason: p }, 'simple close: no closing_complete of ours, the peer proposes');
      return;
    }
    const sigs: Partial<Record<ClosingVariant, Buffer>> = {};
    for (const v of p.variants) {
      const tx = simpleClosingTx(d, 'local', p, v) as ClosingTx;
      sigs[v] = signClosingTx(tx, this.#h.env().keys.fundingPrivkey);
      s.txids.push(tx.tx.id);
      (s.ours ??= []).push({ txid: tx.tx.id, feeSat: p.feeSat });
    }
    const { variants: _v, ...terms } = p;
    s.sent = { ...terms, sigs };
    s.ourScript = p.closerScript;
    s.lastFeeSat = p.feeSat;
    await this.#h.persist();
    this.#h.send({ type: ChannelMessageType.CLOSING_COMPLETE, channelId: d.channelId, closerScriptPubkey: p.closerScript, closeeScriptPubkey: p.closeeScript, feeSatoshis: p.feeSat, locktime: p.locktime, ...sigs, extraTlvs: [] });
  }

  async handle(msg: ClosingComplete | ClosingSig): Promise<void> {
    const d = this.#h.data();
    if (d.state !== 'CLOSINGD_SIGEXCHANGE' && d.state !== 'CLOSINGD_COMPLETE') throw new ChannelProtocolError(`${msg.type === ChannelMessageType.CLOSING_SIG ? 'closing_sig' : 'closing_complete'} in state ${d.state}`);
    try {
      return await (msg.type === ChannelMessageType.CLOSING_COMPLETE ? this.#onComplete(msg) : this.#onSig(msg));
    } catch (e) {
      // Once a closing transaction is signed and published, a bad replacement is refused with a warning:
      // failing the channel would publish a commitment against our own mutual close.
      if (d.state === 'CLOSINGD_COMPLETE' && e instanceof ChannelProtocolError) return this.#warn(e.message);
      throw e;
    }
  }

  /** Their proposal: sign the variant BOLT 2 selects for us, publish it, answer closing_sig. */
  async #onComplete(msg: ClosingComplete): Promise<void> {
    const d = this.#h.data();
    const s = this.#state();
    const m: SimpleCloseTerms = { closerScript: Buffer.from(msg.closerScriptPubkey), closeeScript: Buffer.from(msg.closeeScriptPubkey), feeSat: msg.feeSatoshis, locktime: msg.locktime };
    const ourScript = s.ourScript ?? d.closing!.localScript!;
    // A script mismatch is a race with our own change of script: ignored, and the reconnection sorts it out (BOLT 2).
    if (!m.closeeScript.equals(ourScript)) return this.#warn(`closing_complete: closee_scriptpubkey ${m.closeeScript.toString('hex')} is not ours (${ourScript.toString('hex')})`);
    if (!isSimpleCloseScript(m.closerScript)) return this.#warn(`closing_complete: closer_scriptpubkey ${m.closerScript.toString('hex')} is not a valid closing script`);
    const sigs = presentSigs(msg);
    const variant = closeeVariant(ourScript, d.localCommit.spec.toLocalMsat, new Set(sigs.keys()));
    const theirSig = sigs.get(variant);
    if (!theirSig) throw new ChannelProtocolError(`closing_complete: no ${variant} signature`);
    const tx = simpleClosingTx(d, 'remote', m, variant);
    if (typeof tx === 'string') throw new ChannelProtocolError(tx);
    if (!verifyClosingSig(tx, d.remote.fundingPubkey, theirSig)) throw new ChannelProtocolError(`closing_complete: bad ${variant} signature`);
    const ourSig = signClosingTx(tx, this.#h.env().keys.fundingPrivkey);
    s.theirScript = m.closerScript;
    await this.#complete(tx, ourSig, theirSig);
    this.#h.send({ type: ChannelMessageType.CLOSING_SIG, channelId: d.channelId, closerScriptPubkey: m.closerScript, closeeScriptPubkey: m.closeeScript, feeSatoshis: m.feeSat, locktime: m.locktime, [variant]: ourSig, extraTlvs: [] });
    await this.#publish();
  }

  /** Their signature of our proposal: the transaction is complete, publish it. */
  async #onSig(msg: ClosingSig): Promise<void> {
    const d = this.#h.data();
    const s = this.#state();
    const sent = s.sent;
    if (!sent) return this.#warn('closing_sig without a closing_complete of ours awaiting it');
    const same = Buffer.from(msg.closerScriptPubkey).equals(sent.closerScript) && Buffer.from(msg.closeeScriptPubkey).equals(sent.closeeScript) && msg.feeSatoshis === sent.feeSat && msg.locktime === sent.locktime;
    if (!same) throw new ChannelProtocolError('closing_sig: scripts, fee or locktime differ from our closing_complete');
    const sigs = presentSigs(msg);
    const [variant, theirSig] = sigs.size === 1 ? [...sigs][0]! : [undefined, undefined];
    if (!variant || !theirSig || !sent.sigs[variant]) throw new ChannelProtocolError('closing_sig: not exactly one signature of a variant we offered');
    const tx = simpleClosingTx(d, 'local', sent, variant) as ClosingTx;
    if (!verifyClosingSig(tx, d.remote.fundingPubkey, theirSig)) throw new ChannelProtocolError(`closing_sig: bad ${variant} signature`);
    s.sent = undefined;
    await this.#complete(tx, sent.sigs[variant], theirSig);
    await this.#publish();
  }

  /** A fully signed closing transaction: persisted (CLOSINGD_COMPLETE) before anything is sent or published. */
  async #complete(tx: ClosingTx, ourSig: Buffer, theirSig: Buffer): Promise<void> {
    const d = this.#h.data();
    const signed = serializeSignedClosingTx(tx, d.local.fundingPubkey, d.remote.fundingPubkey, ourSig, theirSig);
    const s = this.#state();
    if (!s.txids.includes(signed.txid)) s.txids.push(signed.txid);
    Object.assign(d.closing!, { txid: signed.txid, txHex: signed.hex });
    await this.#h.persist();
    await this.#h.setState('CLOSINGD_COMPLETE');
  }

  async #publish(): Promise<void> {
    const c = this.#h.data().closing!;
    await this.#h.env().publishClosing(c.txid!, c.txHex!);
  }

  #warn(text: string): void {
    this.#h.env().log.warn({ channel: this.#h.data().channelId.toString('hex'), reason: text }, 'simple close: ignored');
    this.#h.env().warn?.(text);
  }
}
