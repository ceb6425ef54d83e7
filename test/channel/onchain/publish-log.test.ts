/**
 * Publishing is logged once per transaction, with its txid, not once per block: the sweeper publishes
 * every unconfirmed transaction again at each block (funding, commitments, sweeps), and only a change of
 * outcome (published, refused with another reason) is news. A real pino logger writes JSON lines.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { parseTransaction } from '../../../src/chain/block.js';
import { ChainError } from '../../../src/chain/errors.js';
import { fakeCoinbase } from '../../../src/chain/memory-chain.js';
import { Sweeper, type SweeperContext } from '../../../src/channel/onchain/sweeper.js';

function setup(): { sweeper: Sweeper; lines: Record<string, unknown>[]; refuse: (why: string | null) => void } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  let refusal: string | null = null;
  const chain = {
    sendRawTransaction: async (tx: Uint8Array | string): Promise<string> => {
      if (refusal) throw new ChainError('TX_REJECTED', `chain: sendrawtransaction: rejected by the node: ${refusal}`);
      return parseTransaction(typeof tx === 'string' ? Buffer.from(tx, 'hex') : tx).txid;
    },
  };
  const sweeper = new Sweeper({ chain, log: pino({ level: 'debug' }, sink) } as unknown as SweeperContext);
  return { sweeper, lines, refuse: (why) => (refusal = why) };
}

describe('publishing logs', () => {
  it('one info line with the txid per transaction, however many blocks publish it again', async () => {
    const { sweeper, lines } = setup();
    const tx = Buffer.from(fakeCoinbase(1, 1)).toString('hex');
    const txid = parseTransaction(Buffer.from(tx, 'hex')).txid;
    for (let block = 0; block < 335; block++) await sweeper.publish(tx, 'funding transaction');
    const info = lines.filter((l) => l.level === 30);
    assert.equal(info.length, 1, `one info line, got ${info.length}`);
    assert.equal(info[0]!.txid, txid);
    assert.match(String(info[0]!.msg), new RegExp(`published funding transaction ${txid}`));
  });

  it('one warning per refusal reason, with the txid; published after a refusal is news again', async () => {
    const { sweeper, lines, refuse } = setup();
    const tx = Buffer.from(fakeCoinbase(2, 7)).toString('hex');
    const txid = parseTransaction(Buffer.from(tx, 'hex')).txid;
    refuse('bad-txns-premature-spend-of-coinbase');
    for (let i = 0; i < 10; i++) await sweeper.publish(tx, 'our commitment');
    refuse('non-BIP68-final');
    for (let i = 0; i < 10; i++) await sweeper.publish(tx, 'our commitment');
    refuse(null);
    for (let i = 0; i < 10; i++) await sweeper.publish(tx, 'our commitment');
    const loud = lines.filter((l) => (l.level as number) >= 30);
    assert.deepEqual(
      loud.map((l) => [l.level, l.txid]),
      [
        [40, txid],
        [40, txid],
        [30, txid],
      ],
    );
    assert.match(String(loud[0]!.err), /premature-spend/);
    assert.match(String(loud[1]!.err), /non-BIP68-final/);
  });
});
