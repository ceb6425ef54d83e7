/**
 * The setup the forwarding interop tests share: one anode daemon (SQLite, `--developer`) on the
 * harness's btcd with its JSON-RPC, and two real LDK nodes connected to it — LDK1 funding a channel to
 * anode (the incoming side), LDK2 one to anode with a push (the outgoing side: anode's balance is what
 * it forwards) — mined until all four ends are usable. `stop()` ends every process it started.
 */
import { join } from 'node:path';
import { freePort, type BtcdNode } from '../harness/btcd.js';
import { chainArgs, startDaemon, tempDir, type Daemon } from '../harness/daemon.js';
import { rpcCall } from '../rpc/harness.js';
import { LdkPeer } from './peers/ldk.js';

type Json = Record<string, unknown>;

const verbose = (tag: string) => (l: string) => process.env.ANODE_INTEROP_VERBOSE === '1' && process.stderr.write(`[${tag}] ${l}\n`);

export class AnodeAroundLdk {
  readonly dir: string;
  readonly rpcPath: string;
  readonly #procs: Daemon[] = [];
  readonly #ldks: LdkPeer[] = [];

  private constructor(
    readonly btcd: BtcdNode,
    readonly port: number,
    prefix: string,
  ) {
    this.dir = tempDir(prefix);
    this.rpcPath = join(this.dir, 'regtest', 'lightning-rpc');
  }

  static async create(btcd: BtcdNode, prefix: string): Promise<AnodeAroundLdk> {
    return new AnodeAroundLdk(btcd, await freePort(), prefix);
  }

  /** Starts the anode daemon (again, after a stop or a crash) on the same data dir and port. */
  async launch(extra: string[] = []): Promise<Daemon> {
    const d = await startDaemon([`--addr=127.0.0.1:${this.port}`, '--developer', ...chainArgs(this.btcd), ...extra], this.dir);
    this.#procs.push(d);
    return d;
  }

  /** A JSON-RPC call; an error reply throws. */
  async call(method: string, params: Json = {}): Promise<Json> {
    const r = await rpcCall(this.rpcPath, method, params);
    if (r.error) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
    return r.result as Json;
  }

  /** anode's `listpeerchannels` (none while it is down). */
  async channels(): Promise<Json[]> {
    return ((await this.call('listpeerchannels').catch(() => ({ channels: [] }))).channels as Json[]) ?? [];
  }

  /** LDK1 and LDK2 (seeded with `seeds`) connected to anode `anodeId`, their channels usable. */
  async ldkPair(anodeId: Buffer, seeds: [number, number]): Promise<{ ldk1: LdkPeer; ldk2: LdkPeer; usable: () => Promise<boolean> }> {
    const [ldk1, ldk2] = seeds.map((s, i) => new LdkPeer({ seed: Buffer.alloc(32, s), log: verbose(`ldk${i + 1}`) })) as [LdkPeer, LdkPeer];
    for (const l of [ldk1, ldk2]) {
      this.#ldks.push(l);
      await l.start();
      await l.channels.useChain(this.btcd);
      await l.connect('127.0.0.1', this.port, anodeId);
    }
    const in1 = await ldk1.channels.open({ nodeId: anodeId, amountSat: 500_000n });
    const out2 = await ldk2.channels.open({ nodeId: anodeId, amountSat: 500_000n, pushMsat: 300_000_000n });
    const usable = async (): Promise<boolean> => {
      const mine = await this.channels();
      const theirs = [...(await ldk1.channels.list()), ...(await ldk2.channels.list())];
      return mine.length === 2 && mine.every((c) => c.state === 'CHANNELD_NORMAL' && c.peer_connected === true) && [in1, out2].every((ch) => theirs.some((c) => c.channelId === ch.channelId && c.state === 'usable'));
    };
    const follow = async (): Promise<void> => {
      await ldk1.channels.followChain();
      await ldk2.channels.followChain();
    };
    await this.btcd.mineUntil(usable, 'both channels usable', { maxBlocks: 8, settleMs: 500, follow });
    return { ldk1, ldk2, usable };
  }

  async stop(): Promise<void> {
    for (const p of this.#procs) if (p.running()) await p.kill();
    for (const l of this.#ldks) await l.stop();
  }
}
