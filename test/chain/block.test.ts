/**
 * Block and transaction parsing: Bitcoin's genesis block as a fixed vector, a differential test against
 * @scure/btc-signer's transaction serializer (txid, wtxid, outputs), and property tests: for random and
 * mutated bytes the parsers return a value or throw ChainError BAD_BLOCK, nothing else.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Transaction } from '@scure/btc-signer';
import { ChainError } from '../../src/chain/errors.js';
import { merkleRoot, parseBlock, parseBlockHeader, parseTransaction } from '../../src/chain/block.js';
import { MemoryChainSource, buildBlock, fakeCoinbase } from '../../src/chain/memory-chain.js';

const RUNS = { numRuns: Number(process.env.CHAIN_PROPERTY_RUNS ?? 300) };

// Bitcoin mainnet genesis block (285 bytes).
const GENESIS_HEX =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c' +
  '01' +
  '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';
const genesis = new Uint8Array(Buffer.from(GENESIS_HEX, 'hex'));

function total<T>(fn: () => T): T | ChainError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ChainError) {
      assert.equal(e.code, 'BAD_BLOCK', e.message);
      return e;
    }
    throw e;
  }
}

describe('block parser', () => {
  it('parses the genesis block', () => {
    const b = parseBlock(genesis);
    assert.equal(b.hash, '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
    assert.equal(b.header.prevHash, '0'.repeat(64));
    assert.equal(b.header.merkleRoot, '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b');
    assert.equal(b.header.time, 1231006505);
    assert.equal(b.header.bits, 0x1d00ffff);
    assert.equal(b.header.nonce, 2083236893);
    assert.equal(b.header.version, 1);
    assert.equal(b.transactions.length, 1);
    const cb = b.transactions[0]!;
    assert.equal(cb.txid, b.header.merkleRoot);
    assert.equal(cb.wtxid, cb.txid);
    assert.equal(cb.hasWitness, false);
    assert.deepEqual(cb.inputs, [{ txid: '0'.repeat(64), vout: 0xffffffff }]);
    assert.equal(cb.outputs[0]!.valueSat, 5_000_000_000n);
    assert.equal(cb.raw.length, genesis.length - 81);
    assert.equal(merkleRoot([cb.txid]), b.header.merkleRoot);
  });

  it('header alone: exactly 80 bytes', () => {
    assert.equal(parseBlockHeader(genesis.subarray(0, 80)).hash, '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
    for (const n of [0, 79, 81]) assert.throws(() => parseBlockHeader(new Uint8Array(n)), (e: unknown) => e instanceof ChainError && e.code === 'BAD_BLOCK');
  });

  const invalid: { name: string; bytes: Uint8Array; match: RegExp }[] = [
    { name: 'empty', bytes: new Uint8Array(0), match: /too short/ },
    { name: 'header only', bytes: genesis.subarray(0, 80), match: /too short/ },
    { name: 'zero transactions', bytes: Buffer.concat([genesis.subarray(0, 80), Buffer.from([0])]), match: /no transactions/ },
    { name: 'truncated tx', bytes: genesis.subarray(0, genesis.length - 1), match: /truncated/ },
    { name: 'trailing byte', bytes: Buffer.concat([genesis, Buffer.from([0])]), match: /trailing/ },
    { name: 'tx count too large', bytes: Buffer.concat([genesis.subarray(0, 80), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f])]), match: /too large/ },
    { name: 'non-canonical count', bytes: Buffer.concat([genesis.subarray(0, 80), Buffer.from([0xfd, 0x01, 0x00]), genesis.subarray(81)]), match: /non-canonical/ },
    { name: '2^64 count', bytes: Buffer.concat([genesis.subarray(0, 80), Buffer.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8])]), match: /too large/ },
  ];
  for (const c of invalid)
    it(`rejects ${c.name}`, () => {
      assert.throws(() => parseBlock(c.bytes), (e: unknown) => e instanceof ChainError && e.code === 'BAD_BLOCK' && c.match.test(e.message));
    });

  it('fake chain blocks link by prev-hash and have correct merkle roots', async () => {
    const chain = new MemoryChainSource();
    chain.mine(5);
    let prev = '0'.repeat(64);
    for (let h = 0; h <= chain.height; h++) {
      const b = parseBlock(await chain.getRawBlock(chain.hashAt(h)));
      assert.equal(b.hash, chain.hashAt(h));
      assert.equal(b.header.prevHash, prev);
      assert.equal(b.header.merkleRoot, merkleRoot(b.transactions.map((t) => t.txid)));
      prev = b.hash;
    }
  });
});

/** A random transaction built and serialized by @scure/btc-signer (the reference). */
const scureTx = fc
  .record({
    version: fc.integer({ min: 1, max: 2 }),
    lockTime: fc.integer({ min: 0, max: 0xffffffff }),
    inputs: fc.array(
      fc.record({
        txid: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        index: fc.integer({ min: 0, max: 0xffffffff }),
        sequence: fc.integer({ min: 0, max: 0xffffffff }),
        witness: fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 4 }),
        scriptSig: fc.uint8Array({ maxLength: 120 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    outputs: fc.array(
      fc.record({ amount: fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }), script: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
      { minLength: 1, maxLength: 5 },
    ),
  })
  .map((r) => {
    const tx = new Transaction({ version: r.version, lockTime: r.lockTime, allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
    for (const i of r.inputs) tx.addInput({ txid: i.txid, index: i.index, sequence: i.sequence });
    for (const o of r.outputs) tx.addOutput({ script: o.script, amount: o.amount });
    r.inputs.forEach((i, idx) => {
      if (i.witness.length) tx.updateInput(idx, { finalScriptWitness: i.witness }, true);
      if (i.scriptSig.length) tx.updateInput(idx, { finalScriptSig: i.scriptSig }, true);
    });
    return { tx, r };
  });

describe('transaction parser vs @scure/btc-signer', () => {
  it('txid, wtxid, prevouts and outputs agree', () => {
    fc.assert(
      fc.property(scureTx, ({ tx, r }) => {
        const raw = tx.toBytes(true, true);
        const p = parseTransaction(raw);
        assert.equal(p.txid, tx.id);
        const hasWitness = r.inputs.some((i) => i.witness.length > 0);
        assert.equal(p.hasWitness, hasWitness);
        if (!hasWitness) assert.equal(p.wtxid, p.txid);
        assert.deepEqual(
          p.inputs,
          r.inputs.map((i) => ({ txid: Buffer.from(i.txid).toString('hex'), vout: i.index })),
        );
        assert.deepEqual(
          p.outputs.map((o) => [o.valueSat, Buffer.from(o.script).toString('hex')]),
          r.outputs.map((o) => [o.amount, Buffer.from(o.script).toString('hex')]),
        );
        // In a block, next to a coinbase.
        const block = parseBlock(buildBlock('11'.repeat(32), [fakeCoinbase(1, 1), raw], 1, 1));
        assert.equal(block.transactions[1]!.txid, tx.id);
        assert.deepEqual(Buffer.from(block.transactions[1]!.raw), Buffer.from(raw));
      }),
      RUNS,
    );
  });
});

describe('block parser properties', () => {
  it('random bytes: a block or BAD_BLOCK', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void total(() => parseBlock(b))), { numRuns: RUNS.numRuns * 3 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void total(() => parseTransaction(b))), { numRuns: RUNS.numRuns * 3 });
  });

  it('random bytes after a valid header: a block or BAD_BLOCK', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void total(() => parseBlock(Buffer.concat([genesis.subarray(0, 80), b])))),
      { numRuns: RUNS.numRuns * 3 },
    );
  });

  it('mutated valid blocks (segwit and not): a block or BAD_BLOCK', () => {
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat()),
      insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 9 }))),
    });
    fc.assert(
      fc.property(scureTx, mutation, ({ tx }, m) => {
        let b = Buffer.from(buildBlock('22'.repeat(32), [fakeCoinbase(7, 7), tx.toBytes(true, true)], 2, 2));
        for (const [pos, v] of m.edits) b[pos % b.length] = v;
        if (m.insert) {
          const at = m.insert[0] % b.length;
          b = Buffer.concat([b.subarray(0, at), m.insert[1], b.subarray(at)]);
        }
        if (m.cut !== null) b = b.subarray(0, m.cut % (b.length + 1));
        const r = total(() => parseBlock(b));
        if (!(r instanceof ChainError)) assert.equal(r.header.raw.length, 80);
      }),
      RUNS,
    );
  });

  it('huge declared lengths are refused before allocating', () => {
    // A tx declaring 0xffffffff inputs in a small buffer.
    const tx = Buffer.concat([Buffer.from('01000000', 'hex'), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(50)]);
    assert.throws(() => parseTransaction(tx), (e: unknown) => e instanceof ChainError && /too large/.test(e.message));
  });
});
