/**
 * The bytes of a segwit transaction built here (sweeps, anchors HTLC transactions): little-endian
 * integers, CompactSize, BIP 143 digests with their three hashes computed once per transaction (so a
 * transaction of hundreds of inputs is signed in linear time), and the serialization with and without
 * witnesses.
 */
import { sha256 } from '../../crypto/hash.js';

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

export const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};

export function compactSize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  const b = Buffer.alloc(n <= 0xffff ? 3 : 5);
  b[0] = n <= 0xffff ? 0xfd : 0xfe;
  if (n <= 0xffff) b.writeUInt16LE(n, 1);
  else b.writeUInt32LE(n, 1);
  return b;
}

export const varBytes = (b: Uint8Array): Buffer => Buffer.concat([compactSize(b.length), b]);
export const dsha = (b: Uint8Array): Buffer => sha256(sha256(b));

export interface RawInput {
  /** Display-order hex. */
  txid: string;
  vout: number;
  sequence: number;
  amountSat: bigint;
}

export interface RawOutput {
  amountSat: bigint;
  script: Uint8Array;
}

/** A version-2 transaction's parts, ready for BIP 143 digests and serialization. */
export class SegwitTx {
  readonly #outpoints: Buffer[];
  readonly #sequences: Buffer[];
  readonly #outputs: Buffer[];
  readonly #hashPrevouts: Buffer;
  readonly #hashSequence: Buffer;
  readonly #hashOutputs: Buffer;

  constructor(
    readonly inputs: readonly RawInput[],
    outputs: readonly RawOutput[],
    readonly lockTime: number,
  ) {
    this.#outpoints = inputs.map((i) => Buffer.concat([Buffer.from(i.txid, 'hex').reverse(), u32(i.vout)]));
    this.#sequences = inputs.map((i) => u32(i.sequence));
    this.#outputs = outputs.map((o) => Buffer.concat([u64(o.amountSat), varBytes(o.script)]));
    this.#hashPrevouts = dsha(Buffer.concat(this.#outpoints));
    this.#hashSequence = dsha(Buffer.concat(this.#sequences));
    this.#hashOutputs = dsha(Buffer.concat(this.#outputs));
  }

  /** The BIP 143 digest of input `at` for SIGHASH_ALL (0x01) or SIGHASH_SINGLE|ANYONECANPAY (0x83). */
  digest(at: number, scriptCode: Uint8Array, sighashType: 0x01 | 0x83): Buffer {
    const acp = sighashType === 0x83;
    const zero = Buffer.alloc(32);
    const outputs = acp ? (at < this.#outputs.length ? dsha(this.#outputs[at]!) : zero) : this.#hashOutputs;
    return dsha(
      Buffer.concat([u32(2), acp ? zero : this.#hashPrevouts, acp ? zero : this.#hashSequence, this.#outpoints[at]!, varBytes(scriptCode), u64(this.inputs[at]!.amountSat), this.#sequences[at]!, outputs, u32(this.lockTime), u32(sighashType)]),
    );
  }

  /** The signed transaction, its txid and weight. */
  serialize(witnesses: readonly (readonly Uint8Array[])[]): { raw: Buffer; txid: string; weight: number } {
    const body = [compactSize(this.inputs.length), ...this.inputs.flatMap((_, at) => [this.#outpoints[at]!, Buffer.from([0]), this.#sequences[at]!]), compactSize(this.#outputs.length), ...this.#outputs];
    const stripped = Buffer.concat([u32(2), ...body, u32(this.lockTime)]);
    const witness = witnesses.flatMap((w) => [compactSize(w.length), ...w.map(varBytes)]);
    const raw = Buffer.concat([u32(2), Buffer.from([0, 1]), ...body, ...witness, u32(this.lockTime)]);
    return { raw, txid: dsha(stripped).reverse().toString('hex'), weight: stripped.length * 3 + raw.length };
  }
}
