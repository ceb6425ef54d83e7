/**
 * A cheater takes a revoked HTLC output with its own HTLC-timeout transaction while the honest node is
 * offline (issue 12): two anode nodes with a channel (static_remotekey, anchors); B offers A an HTLC, B's data
 * directory is copied, A fails the HTLC (B revokes the commitment holding it), and both stop. B comes
 * back from the copy while A stays offline: at the HTLC's expiry B's own software publishes that revoked
 * commitment and, once it confirms, its HTLC-timeout transaction. Then A starts: it takes to_local, its
 * to_remote and the HTLC-timeout's output, each with the revocation key, and from the chain alone every
 * output descending from the funding output ends in A's wallet (with anchors: but the two anchors left
 * on chain and the change of the wallet input B's zero-fee HTLC-timeout adds for its fee): what the
 * wallets recovered is exactly the capacity minus the on-chain fees (minus the anchors).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { freePort, useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, TO_SELF_DELAY, walletBalance, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { onlyChannel } from './nodes.js';
import { cheaterCopy, daemons, descendants, Node, openChannel, sumSat } from './onchain-sums.js';

const btcd = useBtcd('revoked HTLC taken by the cheater’s second-stage transaction');

const CAPACITY = 1_000_000n;
const PUSH_MSAT = 400_000_000n;
const ANCHOR_SAT = 330n;
/** The HTLC B offers expires this many blocks after it is added: B's commitment and HTLC-timeout confirm before B's to_local delay ends. */
const HTLC_EXPIRY_BLOCKS = 3;

describe('revoked commitment: the cheater’s HTLC-timeout taken by revocation', { skip: btcd.skip, timeout: 300_000 }, () => {
  const { running, nodes } = daemons('anode-revoked-htlc-logs-');

  for (const format of ['static_remotekey', 'anchors_zero_fee_htlc_tx'] as const)
  it(`${format}: A, offline while B publishes its revoked commitment and HTLC-timeout, takes every output; recovered = capacity − fees`, async (t) => {
    const anchors = format !== 'static_remotekey';
    const hold = { extra: ['--developer', '--dev-hold-htlcs'] };
    const x = await startNode(btcd.node, hold);
    const y = await startNode(btcd.node, hold);
    running.push(x, y);
    // With zero-fee anchors B's HTLC-timeout needs a wallet input for its fee.
    if (anchors) await fundWallet(btcd.node, y, 100_000n);
    const { funding, fundingHeight } = await openChannel(btcd.node, x, y, { format, capacitySat: CAPACITY, pushMsat: PUSH_MSAT });

    // B offers A an HTLC; B keeps a copy of its directory with it; A fails it, B revokes that commitment.
    const received: bigint[] = [];
    onlyChannel(x).on('htlcReceived', (h) => received.push(h.id));
    const expiry = (await btcd.node.getBlockCount()) + HTLC_EXPIRY_BLOCKS;
    await onlyChannel(y).addHtlc({ amountMsat: 50_000_000n, paymentHash: createHash('sha256').update(Buffer.alloc(32, 5)).digest(), cltvExpiry: expiry });
    await until(() => received.length === 1, { what: 'HTLC committed', timeoutMs: 30_000 });
    await onlyChannel(x).idle();
    await onlyChannel(y).idle();
    await until(() => onlyChannel(x).data.localCommit.spec.htlcs.length === 1 && onlyChannel(y).data.localCommit.spec.htlcs.length === 1, { what: 'both commitments hold the HTLC', timeoutMs: 30_000 });
    const balB0 = await walletBalance(y);
    const { y2, dir: cheaterDir } = await cheaterCopy(btcd.node, x, y, hold.extra, running, () => onlyChannel(x).failHtlc(received[0]!));
    const balA0 = await walletBalance(x);
    await x.stop();
    await y2.stop();

    // A offline; B from its old directory: at the expiry it goes on chain with the revoked commitment, then its HTLC-timeout.
    const a = new Node('A', x.dir, await freePort(), btcd.node);
    const b = new Node('B', cheaterDir, await freePort(), btcd.node);
    nodes.push(a, b);
    await b.start();
    let secondStage: string | undefined;
    for (let i = 0; i < HTLC_EXPIRY_BLOCKS + 4 && !secondStage; i++) {
      await btcd.node.generate(1);
      const h = await btcd.node.getBlockCount();
      await until(() => b.applied() >= h, { what: `B applied block ${h}`, timeoutMs: 30_000 });
      const { txs } = await descendants(btcd.node, funding, CAPACITY, fundingHeight);
      // The only spend of the commitment's outputs B can make before its delay, anchors aside: the HTLC-timeout
      // (with anchors, joined with its fee input). With anchors B may also CPFP its commitment through its
      // anchor (330 sat) when the backend's estimate exceeds the commitment's feerate: that child is not it.
      const commitment = [...txs.values()].find((v) => v.tx.inputs.some((i) => i.txid === funding.txid))?.tx;
      secondStage = [...txs.values()].find((v) => v.tx.inputs.some((i) => i.txid === commitment?.txid && commitment.outputs[i.vout]!.valueSat !== ANCHOR_SAT))?.tx.txid;
    }
    assert.ok(secondStage, 'B’s HTLC-timeout spending its revoked commitment confirmed');
    const commitmentHeight = [...(await descendants(btcd.node, funding, CAPACITY, fundingHeight)).txs.values()].find((v) => v.tx.inputs.some((i) => i.txid === funding.txid))!.height;
    assert.ok((await btcd.node.getBlockCount()) < commitmentHeight + TO_SELF_DELAY - 1, 'B stopped before its to_local delay ends');
    await b.stop();

    // A comes back: everything by revocation.
    await a.start();
    const tip = await btcd.node.getBlockCount();
    await until(() => a.applied() >= tip, { what: 'A caught up', timeoutMs: 30_000 });
    const settled = async (): Promise<boolean> => ['ONCHAIN', 'CLOSED'].includes(await a.state());
    for (let i = 0; i < 20 && !(await settled()); i++) {
      await btcd.node.generate(1);
      const h = await btcd.node.getBlockCount();
      await until(() => a.applied() >= h, { what: `A applied block ${h}`, timeoutMs: 30_000 });
    }
    assert.ok(await settled(), 'A resolved every output');

    const { txs, feeSat, leaves, external } = await descendants(btcd.node, funding, CAPACITY, fundingHeight);
    // B's wallet inputs (anchors): the HTLC-timeout's fee input, and a CPFP child through B's anchor when the backend's estimate exceeded the commitment's feerate.
    assert.ok(anchors ? external >= 1 : external === 0, `wallet inputs only for B's anchors transactions (${external})`);
    const taken = [...txs.values()].find((v) => v.tx.inputs.some((i) => i.txid === secondStage));
    assert.ok(taken, 'the HTLC-timeout’s output was spent');
    assert.equal(taken.tx.inputs.find((i) => i.txid === secondStage)!.vout, 0, 'its output 0 (the HTLC’s), not B’s change');
    const commitment = [...txs.values()].find((v) => v.tx.inputs.some((i) => i.txid === funding.txid))!.tx.txid;
    assert.ok(taken.tx.inputs.some((i) => i.txid === commitment), 'joined with the rest of the penalty (to_local)');
    const anchorLeaves = leaves.filter((l) => l.valueSat === ANCHOR_SAT);
    assert.ok(anchors ? anchorLeaves.length >= 1 && anchorLeaves.length <= 2 : anchorLeaves.length === 0, 'only anchors are left on chain');
    // What B's wallet inputs paid for goes back to B's wallet (the change of B's transactions with a wallet input): every other output is A's.
    const withWalletInput = new Set([...txs.values()].filter((v) => v.tx.inputs.some((i) => i.txid !== funding.txid && !txs.has(i.txid))).map((v) => v.tx.txid));
    const change = new Set(leaves.filter((l) => withWalletInput.has(l.key.split(':')[0]!) && l.valueSat !== ANCHOR_SAT).map((l) => l.key));
    const rest = leaves.filter((l) => l.valueSat !== ANCHOR_SAT && !change.has(l.key));
    let funds: Awaited<ReturnType<Node['funds']>> = [];
    await until(
      async () => {
        funds = await a.funds();
        const mine = new Set(funds.map((o) => `${o.txid}:${o.output}`));
        return rest.every((l) => mine.has(l.key));
      },
      { what: 'every output in A’s wallet', timeoutMs: 30_000 },
    ).catch(() => assert.fail(`stranded: ${rest.map((l) => `${l.key} ${l.valueSat}`).join(', ')}`));
    await a.stop();
    // B's wallet: what its fee input left (nothing of the channel).
    let bDelta = 0n;
    if (anchors) {
      await b.start();
      const h = await btcd.node.getBlockCount();
      await until(() => b.applied() >= h, { what: 'B caught up', timeoutMs: 30_000 });
      const fundsB = await b.funds();
      const inB = new Set(fundsB.map((o) => `${o.txid}:${o.output}`));
      assert.ok([...change].every((k) => inB.has(k)), 'B’s change is in its wallet');
      bDelta = sumSat(fundsB) - balB0;
      await b.stop();
    }
    const recoveredA = sumSat(funds) - balA0;
    const anchorSat = anchorLeaves.reduce((s, l) => s + l.valueSat, 0n);
    assert.equal(recoveredA + bDelta, CAPACITY - feeSat - anchorSat, `recovered A ${recoveredA} + B ${bDelta} = capacity ${CAPACITY} − fees ${feeSat} − anchors ${anchorSat}`);
    t.diagnostic(`${txs.size} transactions (+${external} wallet fee input), fees ${feeSat} sat, A recovered ${recoveredA} sat, B ${bDelta} sat`);
  });
});
