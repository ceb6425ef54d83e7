/**
 * Sizes that weights are made of, and the dust threshold: the length of a CompactSize (the count and
 * length prefixes of a transaction), the size of an output, and Bitcoin Core's dust rule.
 */

/** Fee rates: a kiloweight is 250 virtual bytes, so 1 sat/vB is 250 sat/kw. */
export const VBYTES_PER_KW = 250;

/** sat/vB as sat/kw. */
export function perKwFromPerVbyte(satPerVbyte: number): number {
  return satPerVbyte * VBYTES_PER_KW;
}

/** sat/kw as whole sat/vB (rounded down). */
export function perVbyteFromPerKw(satPerKw: number): number {
  return Math.floor(satPerKw / VBYTES_PER_KW);
}

/** Bytes of the CompactSize encoding of `n` (the same as @scure/btc-signer's `CompactSize.encode(n).length`). */
export function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** Serialized size of an output paying `script`: amount, script length, script. */
export function outputSize(script: Uint8Array): number {
  return 8 + compactSizeLength(script.length) + script.length;
}

/** A segwit output script of any version: `OP_0`/`OP_1` … `OP_16` and one push of 2 to 40 bytes. */
export function isWitnessProgram(script: Uint8Array): boolean {
  if (script.length < 4 || script.length > 42) return false;
  const v = script[0]!;
  if (v !== 0 && (v < 0x51 || v > 0x60)) return false;
  return script[1] === script.length - 2;
}

/**
 * Bitcoin Core's dust threshold at the default dust relay fee (3000 sat/kvB): the cost of creating the
 * output and later spending it (an input of 32 + 4 + 1 + 107 + 4 bytes, the 107-byte signature and key
 * counted at a quarter for witness programs). 294 sat for P2WPKH, 330 for P2WSH/P2TR, 546 for P2PKH.
 */
export function dustThreshold(script: Uint8Array): bigint {
  return dustThresholdOfLength(script.length, isWitnessProgram(script));
}

/** {@link dustThreshold} of a script known by its length and whether it is a witness program. */
export function dustThresholdOfLength(scriptLength: number, witnessProgram: boolean): bigint {
  const spend = witnessProgram ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  return BigInt((8 + compactSizeLength(scriptLength) + scriptLength + spend) * 3);
}
