/**
 * What the on-chain tests with anode daemons share: a daemon's life across kills (`Node`), the chain's
 * account of a channel (`descendants`: every transaction descending from the funding output, the fees
 * they paid, the outputs left), and what a wallet holds (`sumSat`), so that "recovered = capacity − fees"
 * is checked the same way everywhere; and how those tests open a channel and keep a cheater's copy.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach } from 'node:test';
import { parseTransaction, type BlockTransaction } from '../../src/chain/block.js';
import type { BtcdNode } from '../harness/btcd.js';
import type { CommitmentFormat } from '../../src/channel/commitment.js';
import { chainArgs, fundWallet, startDaemon, startNode, tempDir, type Daemon, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { onlyChannel } from './nodes.js';

/** One daemon's life across kills: the data directory, its port, and the output of every process it ran as. */
export class Node {
  proc: Daemon | undefined;
  readonly logs: string[] = [];
  constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
    readonly btcd: BtcdNode,
  ) {}

  async start(): Promise<void> {
    this.proc = await startDaemon([`--addr=127.0.0.1:${this.port}`, '--developer', '--dev-hold-htlcs', '--log-level=debug', '--dev-no-reconnect', ...chainArgs(this.btcd)], this.dir);
  }

  /** SIGKILL, then a new process on the same directory. */
  async crash(): Promise<void> {
    await this.proc!.kill();
    this.logs.push(this.proc!.output());
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.proc?.running()) await this.proc.stop();
    if (this.proc) this.logs.push(this.proc.output());
    this.proc = undefined;
  }

  async call<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const r = await rpcCall(join(this.dir, 'regtest', 'lightning-rpc'), method, params);
    if (r.error) throw new Error(`${this.name} ${method}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  }

  /** The highest block applied to its channels (by this process or one before it: the tip is written after each). */
  applied(): number {
    let h = -1;
    for (const m of [...this.logs, this.proc?.output() ?? ''].join('\n').matchAll(/"height":(\d+)[^\n]*channels: block applied/g)) h = Math.max(h, Number(m[1]));
    return h;
  }

  async funds(): Promise<{ txid: string; output: number; amount_msat: number; status: string }[]> {
    return (await this.call<{ outputs: { txid: string; output: number; amount_msat: number; status: string }[] }>('listfunds')).outputs.filter((o) => o.status === 'confirmed');
  }

  async state(): Promise<string> {
    const chans = (await this.call<{ channels: { state: string }[] }>('listpeerchannels')).channels;
    return chans[0]?.state ?? 'CLOSED';
  }
}

/** The transactions descending from the funding output, from the blocks after `from`: fees, and outputs not spent among them. */
export async function descendants(btcd: BtcdNode, funding: { txid: string; vout: number }, capacitySat: bigint, from: number): Promise<{ txs: Map<string, { tx: BlockTransaction; height: number }>; feeSat: bigint; leaves: { key: string; valueSat: bigint }[]; external: number }> {
  const values = new Map<string, bigint>([[`${funding.txid}:${funding.vout}`, capacitySat]]);
  const spent = new Set<string>();
  const txs = new Map<string, { tx: BlockTransaction; height: number }>();
  let feeSat = 0n;
  let external = 0;
  const feeParents = new Set<string>();
  const tip = await btcd.getBlockCount();
  const valueOf = async (txid: string, vout: number): Promise<bigint> => parseTransaction(await btcd.getRawTransaction(txid)).outputs[vout]!.valueSat;
  for (let h = from + 1; h <= tip; h++) {
    const block = await btcd.getBlock(await btcd.getBlockHash(h));
    for (const tx of block.transactions) {
      const ins = tx.inputs.map((i) => `${i.txid}:${i.vout}`);
      if (!ins.some((k) => values.has(k))) continue;
      txs.set(tx.txid, { tx, height: h });
      let inSat = 0n;
      for (const i of tx.inputs) {
        const k = `${i.txid}:${i.vout}`;
        const known = values.get(k);
        if (known === undefined) {
          // A fee input from the wallet (anchors HTLC transactions): its value enters the tree, and the
          // wallet transaction that made it paid a fee of its own for the channel.
          // (Its change went back to the wallet, which the recovered sum counts.)
          const v = await valueOf(i.txid, i.vout);
          if (!feeParents.has(i.txid)) {
            feeParents.add(i.txid);
            const parent = parseTransaction(await btcd.getRawTransaction(i.txid));
            let parentIn = 0n;
            for (const pi of parent.inputs) parentIn += await valueOf(pi.txid, pi.vout);
            feeSat += parentIn - parent.outputs.reduce((s, o) => s + o.valueSat, 0n);
          }
          inSat += v;
          external++;
        } else inSat += known;
        spent.add(k);
      }
      const outSat = tx.outputs.reduce((s, o) => s + o.valueSat, 0n);
      tx.outputs.forEach((o, vout) => values.set(`${tx.txid}:${vout}`, o.valueSat));
      feeSat += inSat - outSat;
    }
  }
  const leaves = [...values.entries()].filter(([k]) => !spent.has(k)).map(([key, valueSat]) => ({ key, valueSat }));
  return { txs, feeSat, leaves, external };
}

/** What listfunds outputs hold, in sat. */
export const sumSat = (f: { amount_msat: number }[]): bigint => f.reduce((s, o) => s + BigInt(o.amount_msat) / 1000n, 0n);

/** Opens x → y (`format`, `pushMsat` to y, x's wallet funded for it) and mines until both sides are NORMAL. */
export async function openChannel(btcd: BtcdNode, x: TestNode, y: TestNode, o: { format: CommitmentFormat; capacitySat: bigint; pushMsat: bigint }): Promise<{ funding: { txid: string; vout: number }; fundingHeight: number }> {
  await fundWallet(btcd, x, 2_000_000n);
  await x.node.peers.connect(Buffer.from(y.id, 'hex'), '127.0.0.1', y.port);
  await x.channels.fundChannel({ peerId: y.id, amountSat: o.capacitySat, pushMsat: o.pushMsat, feeratePerKw: 1000, format: o.format });
  await until(() => y.channels.list().length === 1, { what: 'B knows the channel', timeoutMs: 30_000 });
  await btcd.mineUntil(() => onlyChannel(x).data.state === 'CHANNELD_NORMAL' && onlyChannel(y).data.state === 'CHANNELD_NORMAL', 'NORMAL');
  return { funding: onlyChannel(x).data.funding, fundingHeight: onlyChannel(x).data.fundingConfirmation!.height };
}

/**
 * A cheater's copy while an HTLC is in flight: `y` stopped, its directory copied (`dir`), `y` started
 * again on its own directory (`y2`, with `extra` options) and reconnected to `x`; `fail(y2)` fails the
 * HTLC, and the copy's commitment is revoked once neither commitment holds it.
 */
export async function cheaterCopy(btcd: BtcdNode, x: TestNode, y: TestNode, extra: string[], running: TestNode[], fail: (y2: TestNode) => Promise<void>): Promise<{ y2: TestNode; dir: string }> {
  await y.stop();
  const dir = tempDir('anode-cheater-');
  cpSync(y.dir, dir, { recursive: true });
  const y2 = await startNode(btcd, { extra, dir: y.dir });
  running.push(y2);
  await x.node.peers.connect(Buffer.from(y2.id, 'hex'), '127.0.0.1', y2.port);
  await until(() => onlyChannel(x).usable && onlyChannel(y2).usable, { what: 'reestablished', timeoutMs: 30_000 });
  await fail(y2);
  await until(() => onlyChannel(x).data.localCommit.spec.htlcs.length === 0 && onlyChannel(y2).data.localCommit.spec.htlcs.length === 0, { what: 'HTLC failed', timeoutMs: 30_000 });
  await onlyChannel(x).idle();
  await onlyChannel(y2).idle();
  return { y2, dir };
}

/** The daemons of a describe block: all stopped after it; the last two's logs written to a file (named on stderr) after a failed test, or always with ANODE_KEEP_LOGS. */
export function daemons(logPrefix: string): { running: TestNode[]; nodes: Node[] } {
  const running: TestNode[] = [];
  const nodes: Node[] = [];
  after(async () => {
    for (const n of running) await n.stop().catch(() => undefined);
    for (const n of nodes) await n.stop().catch(() => undefined);
  });
  afterEach((t) => {
    if ((t as unknown as { passed?: boolean }).passed === false || process.env.ANODE_KEEP_LOGS)
      for (const n of nodes.slice(-2)) {
        const file = join(mkdtempSync(join(tmpdir(), logPrefix)), `${n.name}.log`);
        writeFileSync(file, n.logs.join('\n----- next process -----\n') + (n.proc?.output() ?? ''));
        console.error(`logs: ${file}`);
      }
  });
  return { running, nodes };
}
