/**
 * BOLT 11 fallback (`f`) fields and the output scripts they stand for: version 0–16 with the witness
 * program, 17 with a P2PKH hash, 18 with a P2SH hash. The API shells turn addresses into scripts (the
 * wallet's parser) and scripts into fields here, and back for display.
 */
import type { Fallback } from './bolt11.js';

export type FallbackField = Omit<Fallback, 'address'>;

/** The `f` field paying `script`, or undefined for a script no fallback version describes. */
export function fallbackFromScript(script: Uint8Array): FallbackField | undefined {
  const s = Buffer.from(script);
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac) return { version: 17, program: s.subarray(3, 23) };
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return { version: 18, program: s.subarray(2, 22) };
  const v = s[0] === 0 ? 0 : s[0]! >= 0x51 && s[0]! <= 0x60 ? s[0]! - 0x50 : -1;
  if (v < 0 || s.length < 4 || s[1] !== s.length - 2) return undefined;
  return { version: v, program: s.subarray(2) };
}

/** The output script a fallback field pays. */
export function fallbackScript(f: FallbackField): Buffer {
  if (f.version === 17) return Buffer.concat([Buffer.from([0x76, 0xa9, 0x14]), f.program, Buffer.from([0x88, 0xac])]);
  if (f.version === 18) return Buffer.concat([Buffer.from([0xa9, 0x14]), f.program, Buffer.from([0x87])]);
  return Buffer.concat([Buffer.from([f.version === 0 ? 0 : 0x50 + f.version, f.program.length]), f.program]);
}
