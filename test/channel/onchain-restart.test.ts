/**
 * On-chain resolution survives crashes: two anode daemons with a channel (static_remotekey and anchors),
 * closed mutually, unilaterally (local for one side, remote for the other) or by a revoked commitment;
 * during the resolution the daemons are killed with SIGKILL at six different points (before the close
 * is mined, then after blocks of the resolution, at random moments of their processing) and restarted,
 * and the chain is mined until every output is resolved. Then, from the chain alone: every output of
 * the transactions spending the funding output (and of their descendants) is either in one of the two
 * wallets or an anchor left on chain, so what the wallets recovered is exactly the capacity minus the
 * on-chain fees (minus the anchors); and no transaction was published again once the daemon had applied
 * the block confirming it. listpeerchannels says so in lightningd's words (its on-chain status lines).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { BlockTransaction } from '../../src/chain/block.js';
import type { CommitmentFormat } from '../../src/channel/commitment.js';
import { freePort, useBtcd } from '../harness/btcd.js';
import { startNode, walletBalance, type TestNode } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';
import { onlyChannel } from './nodes.js';
import { cheaterCopy, daemons, descendants, Node, openChannel, sumSat } from './onchain-sums.js';

const btcd = useBtcd('on-chain resolution across SIGKILL restarts');

const CAPACITY = 1_000_000n;
const PUSH_MSAT = 400_000_000n;
const ANCHOR_SAT = 330n;
/** The HTLCs in flight at a unilateral close expire this many blocks after they are added. */
const HTLC_EXPIRY_BLOCKS = 12;

type Close = 'mutual' | 'unilateral' | 'revoked';

interface Opened {
  a: Node;
  b: Node;
  funding: { txid: string; vout: number };
  fundingHeight: number;
  balA0: bigint;
}

const hashOf = (p: Buffer): Buffer => createHash('sha256').update(p).digest();
/** The preimages of the HTLCs fulfilled before a unilateral close: B → A (A knows it), A → B (B knows it). */
const PREIMAGE_TO_A = Buffer.alloc(32, 0xa1);
const PREIMAGE_TO_B = Buffer.alloc(32, 0xb2);

/**
 * Opens A → B (`format`, 400k sat pushed to B) with in-process nodes; for a revoked close, B's directory
 * is copied while an HTLC is in flight and the channel moves on, and B comes back from that copy.
 */
async function open(format: CommitmentFormat, close: Close, running: TestNode[]): Promise<Opened> {
  // HTLCs are driven by hand here (their onions are zeros): the HTLC intake leaves them alone.
  const hold = { extra: ['--developer', '--dev-hold-htlcs'] };
  const x = await startNode(btcd.node, hold);
  let y = await startNode(btcd.node, hold);
  running.push(x, y);
  const { funding, fundingHeight } = await openChannel(btcd.node, x, y, { format, capacitySat: CAPACITY, pushMsat: PUSH_MSAT });
  let bDir = y.dir;
  if (close === 'unilateral') {
    // HTLCs in flight that time out on chain: B → A (B claims it back from A's commitment directly) and
    // A → B (A's HTLC-timeout — with anchors joined with a wallet-funded fee input — then its delayed output).
    // And two whose preimage the receiver knows: B → A, fulfilled by A (A's HTLC-success transaction on its
    // own commitment), and A → B, fulfilled by B (B's claim with the preimage from A's commitment). Each
    // fulfill is signed and written (commitment_signed sent) while the peer reads nothing, as when the peer
    // goes silent before it revokes: the HTLCs stay on both commitments.
    const expiry = (await btcd.node.getBlockCount()) + HTLC_EXPIRY_BLOCKS;
    const received = { a: new Map<string, bigint>(), b: new Map<string, bigint>() };
    onlyChannel(x).on('htlcReceived', (h) => received.a.set(h.paymentHash.toString('hex'), h.id));
    onlyChannel(y).on('htlcReceived', (h) => received.b.set(h.paymentHash.toString('hex'), h.id));
    await onlyChannel(y).addHtlc({ amountMsat: 20_000_000n, paymentHash: hashOf(Buffer.alloc(32, 8)), cltvExpiry: expiry });
    await onlyChannel(x).addHtlc({ amountMsat: 30_000_000n, paymentHash: hashOf(Buffer.alloc(32, 9)), cltvExpiry: expiry + 1 });
    await onlyChannel(y).addHtlc({ amountMsat: 15_000_000n, paymentHash: hashOf(PREIMAGE_TO_A), cltvExpiry: expiry + 20 });
    await onlyChannel(x).addHtlc({ amountMsat: 25_000_000n, paymentHash: hashOf(PREIMAGE_TO_B), cltvExpiry: expiry + 20 });
    await until(() => received.a.size === 2 && received.b.size === 2, { what: 'HTLCs committed', timeoutMs: 30_000 });
    await onlyChannel(x).idle();
    await onlyChannel(y).idle();
    await until(() => onlyChannel(x).data.localCommit.spec.htlcs.length === 4 && onlyChannel(y).data.localCommit.spec.htlcs.length === 4, { what: 'both commitments hold the HTLCs', timeoutMs: 30_000 });
    x.node.peers.peer(y.id)!.conn.socket.pause();
    y.node.peers.peer(x.id)!.conn.socket.pause();
    await onlyChannel(x).fulfillHtlc(received.a.get(hashOf(PREIMAGE_TO_A).toString('hex'))!, PREIMAGE_TO_A);
    await onlyChannel(y).fulfillHtlc(received.b.get(hashOf(PREIMAGE_TO_B).toString('hex'))!, PREIMAGE_TO_B);
    await until(() => onlyChannel(x).data.nextRemoteCommit !== undefined && onlyChannel(y).data.nextRemoteCommit !== undefined, { what: 'fulfills signed and written', timeoutMs: 30_000 });
  }
  if (close === 'revoked') {
    const received: bigint[] = [];
    onlyChannel(y).on('htlcReceived', (h) => received.push(h.id));
    await onlyChannel(x).addHtlc({ amountMsat: 50_000_000n, paymentHash: hashOf(Buffer.alloc(32, 7)), cltvExpiry: 5000 });
    await until(() => received.length === 1, { what: 'HTLC committed', timeoutMs: 30_000 });
    await onlyChannel(x).idle();
    await onlyChannel(y).idle();
    const copy = await cheaterCopy(btcd.node, x, y, hold.extra, running, (y2) => onlyChannel(y2).failHtlc(received[0]!));
    bDir = copy.dir;
    y = copy.y2;
  }
  const balA0 = await walletBalance(x);
  assert.equal(await walletBalance(y), 0n, 'B starts with an empty wallet');
  await x.stop();
  await y.stop();
  return { a: new Node('A', x.dir, await freePort(), btcd.node), b: new Node('B', bDir, await freePort(), btcd.node), funding, fundingHeight, balA0 };
}

/** A node's listpeerchannels status lines for its one channel. */
const statusOf = async (n: Node): Promise<string[]> => (await n.call<{ channels: { status: string[] }[] }>('listpeerchannels')).channels[0]?.status ?? [];

/** Every attempt to publish a transaction confirmed at or before the block the process had applied. */
function republished(nodes: Node[], confirmedAt: Map<string, number>): string[] {
  const bad: string[] = [];
  for (const n of nodes)
    for (const log of n.logs) {
      let applied = -1;
      for (const line of log.split('\n')) {
        if (!line.startsWith('{')) continue;
        let o: { msg?: string; height?: number; txid?: string; what?: string };
        try {
          o = JSON.parse(line) as typeof o;
        } catch {
          continue;
        }
        if (o.msg === 'channels: block applied') applied = Math.max(applied, o.height!);
        const at = o.txid !== undefined ? confirmedAt.get(o.txid) : undefined;
        // Every attempt is logged (news at info/warn, repeats at debug, which these daemons print).
        if ((o.msg?.startsWith('published ') || o.msg?.startsWith('publishing ')) && at !== undefined && at <= applied) bad.push(`${n.name}: ${o.what} ${o.txid} (confirmed at ${at}, applied ${applied})`);
      }
    }
  return bad;
}

describe('on-chain resolution across SIGKILL restarts', { skip: btcd.skip, timeout: 900_000 }, () => {
  const { running, nodes } = daemons('anode-restart-logs-');

  for (const format of ['static_remotekey', 'anchors_zero_fee_htlc_tx'] as const)
    for (const close of ['mutual', 'unilateral', 'revoked'] as const) {
      it(`${format}, ${close} close: killed at six points, every output resolved, recovered = capacity − fees`, async (t) => {
        const started = Date.now();
        const { a, b, funding, fundingHeight, balA0 } = await open(format, close, running);
        nodes.push(a, b);
        await a.start();
        await b.start();
        const bId = (await b.call<{ id: string }>('getinfo')).id;
        const aId = (await a.call<{ id: string }>('getinfo')).id;
        let closer = a;
        if (close === 'mutual') {
          await a.call('connect', { id: `${bId}@127.0.0.1:${b.port}` });
          await until(async () => (await a.call<{ channels: { peer_connected: boolean; state: string }[] }>('listpeerchannels')).channels[0]?.state === 'CHANNELD_NORMAL', { what: 'reestablished', timeoutMs: 30_000 });
          const r = await until(() => a.call<{ type: string }>('close', { id: bId }).catch(() => null), { what: 'mutual close', timeoutMs: 30_000 });
          assert.equal(r.type, 'mutual');
        } else if (close === 'unilateral') {
          assert.equal((await a.call<{ type: string }>('close', { id: bId, unilateraltimeout: 1 })).type, 'unilateral');
        } else {
          closer = b;
          assert.equal((await b.call<{ type: string }>('close', { id: aId, unilateraltimeout: 1 })).type, 'unilateral');
        }
        const other = closer === a ? b : a;
        // Kill points: before the close is mined (the closer), then after blocks 1, 2, 3, 5 and 7 of the resolution, alternating sides, at a random moment of the processing.
        const kills = new Map<number, Node>([
          [1, other],
          [2, closer],
          [3, other],
          [5, closer],
          [7, other],
          [HTLC_EXPIRY_BLOCKS + 2, closer],
        ]);
        await closer.crash();
        let killed = 1;
        const settled = async (): Promise<boolean> => {
          for (const n of [a, b]) if (!['ONCHAIN', 'CLOSED'].includes(await n.state())) return false;
          return true;
        };
        const start = await btcd.node.getBlockCount();
        for (let i = 1; i <= 40; i++) {
          await btcd.node.generate(1);
          const h = start + i;
          const victim = kills.get(i);
          if (victim) {
            await sleep(Math.floor(Math.random() * 300));
            await victim.crash();
            killed++;
          }
          await until(() => a.applied() >= h && b.applied() >= h, { what: `block ${h} applied`, timeoutMs: 30_000 });
          if (i === 1 && close !== 'mutual') {
            // lightningd's billboard while outputs are open: the next one to resolve, by its output and transaction types.
            const lines = await statusOf(closer);
            assert.equal(lines.at(-2), 'ONCHAIN:Tracking our own unilateral close');
            assert.match(lines.at(-1)!, /^ONCHAIN:\d+ outputs unresolved: (in \d+ blocks will spend|waiting confirmation that we spent) [A-Z_]+ \([0-9a-f]{64}:\d+\) using [A-Z_]+$/);
          }
          if (i > (close === 'unilateral' ? HTLC_EXPIRY_BLOCKS + 9 : 7) && (await settled())) break;
        }
        assert.ok(killed >= 6, 'killed at six points');
        assert.ok(await settled(), 'both sides resolved every output');

        // The chain's account of the channel.
        const { txs, feeSat, leaves, external } = await descendants(btcd.node, funding, CAPACITY, fundingHeight);
        assert.equal(external, close === 'unilateral' && format !== 'static_remotekey' ? 2 : 0, 'a wallet fee input only for the anchors HTLC transactions (success, then timeout)');
        if (close === 'unilateral') {
          // The known preimages went on chain: A's HTLC-success transaction, B's claim from A's commitment.
          const spentWith = (p: Buffer): BlockTransaction[] => [...txs.values()].map((v) => v.tx).filter((tx) => Buffer.from(tx.raw).includes(p));
          assert.equal(spentWith(PREIMAGE_TO_A).length, 1, 'A took the HTLC it fulfilled with its preimage');
          assert.equal(spentWith(PREIMAGE_TO_B).length, 1, 'B took the HTLC it fulfilled with its preimage');
        }
        const anchors = leaves.filter((l) => l.valueSat === ANCHOR_SAT);
        const rest = leaves.filter((l) => l.valueSat !== ANCHOR_SAT);
        let fundsA: Awaited<ReturnType<Node['funds']>> = [];
        let fundsB: Awaited<ReturnType<Node['funds']>> = [];
        const keys = (f: typeof fundsA): Set<string> => new Set(f.map((o) => `${o.txid}:${o.output}`));
        await until(
          async () => {
            fundsA = await a.funds();
            fundsB = await b.funds();
            const mine = new Set([...keys(fundsA), ...keys(fundsB)]);
            return rest.every((l) => mine.has(l.key));
          },
          { what: 'every output in a wallet', timeoutMs: 30_000 },
        ).catch(() => assert.fail(`stranded: ${rest.filter((l) => !new Set([...keys(fundsA), ...keys(fundsB)]).has(l.key)).map((l) => `${l.key} ${l.valueSat}`).join(', ')}`));
        const sum = sumSat;
        const recovered = sum(fundsA) - balA0 + sum(fundsB);
        const anchorSat = anchors.reduce((s, l) => s + l.valueSat, 0n);
        assert.equal(anchors.length, format === 'static_remotekey' || close === 'mutual' ? 0 : 2, 'only the two anchors are left on chain');
        assert.equal(recovered, CAPACITY - feeSat - anchorSat, `recovered ${recovered} = capacity ${CAPACITY} − fees ${feeSat} − anchors ${anchorSat}`);
        assert.ok(sum(fundsB) > 0n || close === 'revoked', 'B recovered its side');
        if (close === 'revoked') assert.equal(sum(fundsB), 0n, 'the cheater recovered nothing');

        // Resolved, as lightningd says it (listpeerchannels over the JSON-RPC socket).
        const tracking = { mutual: ['Tracking mutual close transaction', 'Tracking mutual close transaction'], unilateral: ['Tracking our own unilateral close', 'Tracking their unilateral close'], revoked: ['Tracking their illegal close: taking all funds', 'Tracking our own unilateral close'] }[close];
        for (const [n, title] of [[a, tracking[0]], [b, tracking[1]]] as const) {
          const lines = await statusOf(n);
          assert.equal(lines.at(-2), `ONCHAIN:${title}`, `${n.name}: ${lines.join(' | ')}`);
          assert.match(lines.at(-1)!, /^ONCHAIN:All outputs resolved: waiting \d+ more blocks before forgetting channel$/);
        }
        const confirmedAt = new Map([...txs.entries()].map(([txid, v]) => [txid, v.height]));
        await a.stop();
        await b.stop();
        assert.deepEqual(republished([a, b], confirmedAt), [], 'nothing published again once confirmed');
        t.diagnostic(`${txs.size} transactions (+${external} wallet fee input), fees ${feeSat} sat, recovered A ${sum(fundsA) - balA0} + B ${sum(fundsB)} sat; ${killed} kills; ${Date.now() - started} ms`);
      });
    }
});
