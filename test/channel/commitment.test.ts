/**
 * BOLT 3 Appendix C (static_remotekey-shaped, no anchors) and the anchors appendix: every commitment
 * transaction rebuilt from its parameters, signed with both funding keys (RFC 6979) and compared byte
 * for byte with the spec's signed transaction; fees, trimming and output order; and the HTLC
 * transactions where the vector file lists them. Vectors in test/vectors/bolt3-commitments.json and
 * test/vectors/bolt3-anchors.json.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hex, readVector, repoRoot } from '../helpers.js';
import { sha256 } from '../../src/crypto/hash.js';
import {
  buildCommitmentTx,
  buildHtlcTxs,
  ChannelError,
  commitmentLocktimeSequence,
  commitmentNumberObscurer,
  commitmentTxid,
  compareOutputs,
  obscureCommitmentNumber,
  obscuredNumberFromTx,
  serializeSignedCommitmentTx,
  serializeSignedHtlcTx,
  signCommitmentTx,
  signHtlcTxLocal,
  signHtlcTxRemote,
  verifyCommitmentSig,
  verifyHtlcSigRemote,
  type CommitmentFormat,
  type CommitmentHtlc,
  type CommitmentParams,
} from '../../src/channel/index.js';
import { compactToDer } from '../../src/bitcoin/signature.js';

interface VectorHtlc {
  direction: 'remote->local' | 'local->remote';
  amount_msat: string;
  expiry: number;
  payment_preimage: string;
}
interface VectorCase {
  name: string;
  htlcs: boolean | VectorHtlc[];
  to_local_msat: string;
  to_remote_msat: string;
  local_feerate_per_kw: string;
  /** Overrides params.local_dust_limit_satoshi (the zero-fee-HTLC anchors vectors vary it per case). */
  local_dust_limit_satoshi?: string;
  base_fee?: string;
  actual_fee?: string;
  num_htlcs: number;
  remote_signature: string;
  commit_tx: string;
  htlc_txs?: string[];
}
interface VectorFile {
  source: string;
  format?: CommitmentFormat;
  params: {
    funding_txid: string;
    funding_output_index: number;
    funding_amount_satoshi: string;
    commitment_number: string;
    local_delay: number;
    local_dust_limit_satoshi: string;
    htlcs: VectorHtlc[];
    keys?: Record<string, string>;
  };
  cases: VectorCase[];
}

const K = readVector<{ appendixC: Record<string, string> }>('bolt3-keys.json').appendixC;
const k = (name: string, file: VectorFile): Buffer => hex(file.params.keys?.[name] ?? K[name]!);

function toHtlcs(hs: VectorHtlc[]): { htlcs: CommitmentHtlc[]; preimages: Buffer[] } {
  return {
    htlcs: hs.map((h) => ({
      direction: h.direction === 'local->remote' ? 'offered' : 'received',
      amountMsat: BigInt(h.amount_msat),
      paymentHash: sha256(hex(h.payment_preimage)),
      cltvExpiry: h.expiry,
    })),
    preimages: hs.map((h) => hex(h.payment_preimage)),
  };
}

function paramsOf(file: VectorFile, c: VectorCase, format: CommitmentFormat): { params: CommitmentParams; preimages: Buffer[] } {
  const hs = c.htlcs === true ? file.params.htlcs : c.htlcs === false ? [] : c.htlcs;
  const { htlcs, preimages } = toHtlcs(hs);
  return {
    preimages,
    params: {
      format,
      funding: { txid: file.params.funding_txid, vout: file.params.funding_output_index, amountSat: BigInt(file.params.funding_amount_satoshi) },
      localFundingPubkey: k('local_funding_pubkey', file),
      remoteFundingPubkey: k('remote_funding_pubkey', file),
      keys: {
        revocationPubkey: k('local_revocation_pubkey', file),
        localDelayedPubkey: k('local_delayedpubkey', file),
        localHtlcPubkey: k('localpubkey', file),
        remoteHtlcPubkey: k('remotepubkey', file),
        remotePubkey: k(file.params.keys?.to_remote_pubkey ? 'to_remote_pubkey' : 'remotepubkey', file),
      },
      commitmentNumber: BigInt(file.params.commitment_number),
      obscurer: commitmentNumberObscurer(k('local_payment_basepoint', file), k('remote_payment_basepoint', file)),
      toSelfDelay: file.params.local_delay,
      dustLimitSat: BigInt(c.local_dust_limit_satoshi ?? file.params.local_dust_limit_satoshi),
      feeratePerKw: BigInt(c.local_feerate_per_kw),
      opener: 'local',
      toLocalMsat: BigInt(c.to_local_msat),
      toRemoteMsat: BigInt(c.to_remote_msat),
      htlcs,
    },
  };
}

function runFile(vectorName: string, defaultFormat: CommitmentFormat): void {
  const path = join(repoRoot, 'test', 'vectors', vectorName);
  if (!existsSync(path)) return;
  const file = readVector<VectorFile>(vectorName);
  const format = file.format ?? defaultFormat;
  describe(`${vectorName}: ${file.source.split(':')[0]} (${format})`, () => {
    for (const c of file.cases) {
      it(c.name, () => {
        const { params, preimages } = paramsOf(file, c, format);
        const tx = buildCommitmentTx(params);
        const localSig = signCommitmentTx(tx, k('local_funding_privkey', file));
        const remoteSig = signCommitmentTx(tx, k('remote_funding_privkey', file));
        assert.equal(compactToDer(remoteSig).toString('hex'), c.remote_signature, 'remote_signature');
        assert.ok(verifyCommitmentSig(tx, params.remoteFundingPubkey, remoteSig));
        assert.ok(!verifyCommitmentSig(tx, params.localFundingPubkey, remoteSig));
        assert.equal(serializeSignedCommitmentTx(tx, localSig, remoteSig).toString('hex'), c.commit_tx, 'commit_tx');
        assert.equal(tx.outputs.filter((o) => o.htlc).length, c.num_htlcs, 'num_htlcs');
        if (c.base_fee !== undefined) assert.equal(tx.baseFeeSat, BigInt(c.base_fee), 'base fee');
        if (c.actual_fee !== undefined) assert.equal(tx.feeSat, BigInt(c.actual_fee), 'actual fee');
        if (c.htlc_txs) {
          const htlcTxs = buildHtlcTxs(tx);
          assert.equal(htlcTxs.length, c.htlc_txs.length);
          htlcTxs.forEach((t, i) => {
            const idx = tx.outputs.find((o) => o.htlc === t.htlc)!.htlcIndex!;
            const rs = signHtlcTxRemote(t, k('remote_privkey', file));
            assert.ok(verifyHtlcSigRemote(t, params.keys.remoteHtlcPubkey, rs));
            const ls = signHtlcTxLocal(t, k('local_privkey', file));
            const raw = serializeSignedHtlcTx(t, rs, ls, t.kind === 'htlc_success' ? preimages[idx] : undefined);
            assert.equal(raw.toString('hex'), c.htlc_txs![i], `${t.kind} for HTLC ${idx}`);
          });
        }
      });
    }
  });
}

runFile('bolt3-commitments.json', 'static_remotekey');
runFile('bolt3-static-remotekey.json', 'static_remotekey');
runFile('bolt3-anchor-outputs.json', 'anchor_outputs');
runFile('bolt3-anchors.json', 'anchors_zero_fee_htlc_tx');

describe('obscured commitment number, locktime and sequence', () => {
  it('Appendix C: 0x2bb038521914 ^ 42 gives locktime 0x2052193e and sequence 0x802bb038', () => {
    const o = obscureCommitmentNumber(42n, 0x2bb038521914n);
    assert.deepEqual(commitmentLocktimeSequence(o), { lockTime: 0x2052193e, sequence: 0x802bb038 });
  });
  it('round trip: number → obscured → locktime/sequence → number', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xffffffffffffn }), fc.bigInt({ min: 0n, max: 0xffffffffffffn }), (n, obscurer) => {
        const { lockTime, sequence } = commitmentLocktimeSequence(obscureCommitmentNumber(n, obscurer));
        assert.equal(lockTime >>> 24, 0x20);
        assert.equal(sequence >>> 24, 0x80);
        const back = obscuredNumberFromTx(lockTime, sequence);
        assert.notEqual(back, null);
        assert.equal(obscureCommitmentNumber(back!, obscurer), n);
      }),
    );
  });
  it('out-of-range commitment numbers are typed errors', () => {
    assert.throws(() => obscureCommitmentNumber(1n << 48n, 0n), (e) => e instanceof ChannelError && e.code === 'INVALID_INDEX');
    assert.throws(() => obscureCommitmentNumber(-1n, 0n), (e) => e instanceof ChannelError && e.code === 'INVALID_INDEX');
  });
});

describe('commitment construction properties', () => {
  const file = readVector<VectorFile>('bolt3-commitments.json');
  const formats: CommitmentFormat[] = ['static_remotekey', 'anchor_outputs', 'anchors_zero_fee_htlc_tx'];
  const htlcArb = fc.record({
    direction: fc.constantFrom<'local->remote' | 'remote->local'>('local->remote', 'remote->local'),
    amount_msat: fc.bigInt({ min: 0n, max: 50_000_000n }).map(String),
    expiry: fc.integer({ min: 0, max: 1_000_000 }),
    payment_preimage: fc.constantFrom('00', '01', '02').map((b) => b.repeat(32)),
  });
  it('amounts are conserved, outputs are sorted, the opener pays, no output is below the dust limit', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...formats),
        fc.bigInt({ min: 0n, max: 20_000n }),
        fc.bigInt({ min: 0n, max: 1_000n }),
        fc.array(htlcArb, { maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 5_000_000_000n }),
        (format, feerate, dust, hs, toLocalMsat) => {
          const htlcMsat = hs.reduce((s, h) => s + BigInt(h.amount_msat), 0n);
          const toRemoteMsat = 10_000_000_000n - toLocalMsat - htlcMsat;
          fc.pre(toRemoteMsat >= 0n);
          const c: VectorCase = { name: 'p', htlcs: hs, to_local_msat: String(toLocalMsat), to_remote_msat: String(toRemoteMsat), local_feerate_per_kw: String(feerate), num_htlcs: 0, remote_signature: '', commit_tx: '' };
          const { params } = paramsOf(file, c, format);
          params.dustLimitSat = dust;
          const tx = buildCommitmentTx(params);
          const sum = tx.outputs.reduce((s, o) => s + o.amountSat, 0n);
          assert.equal(sum + tx.feeSat, 10_000_000n);
          for (let i = 1; i < tx.outputs.length; i++) assert.ok(compareOutputs(tx.outputs[i - 1]!, tx.outputs[i]!) <= 0);
          for (const o of tx.outputs) if (o.kind !== 'to_local_anchor' && o.kind !== 'to_remote_anchor') assert.ok(o.amountSat >= dust);
          const remote = tx.outputs.find((o) => o.kind === 'to_remote');
          if (remote) assert.equal(remote.amountSat, toRemoteMsat / 1000n);
          assert.equal(tx.outputs.filter((o) => o.htlc).length + tx.trimmedHtlcs.length, hs.length);
          assert.match(commitmentTxid(tx), /^[0-9a-f]{64}$/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
