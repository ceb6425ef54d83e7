/**
 * Taproot helpers and the scripts of LND's simple taproot channels (as its `input` package has them):
 * TapLeaf/TapBranch hashes, the BIP 341 output of an internal key and a merkle root (through
 * @scure/btc-signer's `tapLeafHash` and `taprootTweakPubkey`), the to_local delay and revoke leaves and
 * the to_remote leaf in their `staging` and `final` flavours, and the outputs they make under LND's NUMS
 * key with the control blocks that spend them.
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { OutScript, Script } from '@scure/btc-signer';
import { tapLeafHash as scureTapLeafHash, TAP_LEAF_VERSION } from '@scure/btc-signer/payment.js';
import { taprootTweakPubkey } from '@scure/btc-signer/utils.js';
import { BitcoinError } from './errors.js';
import { keyOfLength, scriptNumber } from './script.js';

/** LND's taproot NUMS point (`input.TaprootNUMSKey`), compressed, and its x-only form. */
export const TAPROOT_NUMS_KEY = Buffer.from('02dca094751109d0bd055d03565874e8276dd53e926b44e3bd1bb6bf4bc130a279', 'hex');
export const TAPROOT_NUMS_X = TAPROOT_NUMS_KEY.subarray(1);

/** Simple taproot channel scripts changed once: `staging` (LND's first version) and `final`. */
export type TaprootFlavour = 'staging' | 'final';

/** TapLeaf hash of a script with leaf version 0xc0. */
export function tapLeafHash(script: Uint8Array): Buffer {
  return Buffer.from(scureTapLeafHash(script, TAP_LEAF_VERSION));
}

/** TapBranch hash of two child hashes, in lexicographic order. */
export function tapBranchHash(a: Uint8Array, b: Uint8Array): Buffer {
  const [x, y] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  return Buffer.from(schnorr.utils.taggedHash('TapBranch', x, y));
}

/** BIP 341 output key of `internalX` committed to `merkleRoot`: the P2TR script and the y parity. */
export function taprootOutput(internalX: Uint8Array, merkleRoot: Uint8Array): { pkScript: Buffer; outputKeyX: Buffer; parity: 0 | 1 } {
  let tweaked: [Uint8Array, number];
  try {
    tweaked = taprootTweakPubkey(internalX, merkleRoot);
  } catch {
    throw new BitcoinError('INVALID_KEY', 'bitcoin: taproot tweak failed');
  }
  const outputKeyX = Buffer.from(tweaked[0]);
  return { pkScript: Buffer.from(OutScript.encode({ type: 'tr', pubkey: outputKeyX })), outputKeyX, parity: tweaked[1] === 1 ? 1 : 0 };
}

function encode(ops: Parameters<typeof Script.encode>[0]): Buffer {
  return Buffer.from(Script.encode(ops));
}

/** to_local delay leaf: staging `<delay> OP_CHECKSIG <csv> OP_CSV OP_DROP`; final `<delay> OP_CHECKSIGVERIFY <csv> OP_CSV`. */
export function taprootDelayScript(localDelayX: Uint8Array, csvDelay: number, flavour: TaprootFlavour): Buffer {
  const key = keyOfLength(localDelayX, 32, 'local delay x-only key');
  const csv = scriptNumber(csvDelay, 'csv delay');
  return flavour === 'staging'
    ? encode([key, 'CHECKSIG', csv, 'CHECKSEQUENCEVERIFY', 'DROP'])
    : encode([key, 'CHECKSIGVERIFY', csv, 'CHECKSEQUENCEVERIFY']);
}

/** to_local revoke leaf (both flavours): `<delay> OP_DROP <rev> OP_CHECKSIG`. */
export function taprootRevokeScript(localDelayX: Uint8Array, revocationX: Uint8Array): Buffer {
  return encode([keyOfLength(localDelayX, 32, 'local delay x-only key'), 'DROP', keyOfLength(revocationX, 32, 'revocation x-only key'), 'CHECKSIG']);
}

/** to_remote leaf: staging `<pk> OP_CHECKSIG OP_1 OP_CSV OP_DROP`; final `<pk> OP_CHECKSIGVERIFY OP_1 OP_CSV`. */
export function taprootToRemoteScript(toRemoteX: Uint8Array, flavour: TaprootFlavour): Buffer {
  const key = keyOfLength(toRemoteX, 32, 'to_remote x-only key');
  return flavour === 'staging' ? encode([key, 'CHECKSIG', 1, 'CHECKSEQUENCEVERIFY', 'DROP']) : encode([key, 'CHECKSIGVERIFY', 1, 'CHECKSEQUENCEVERIFY']);
}

/** Control block of a leaf under the NUMS key: leaf version with the output key's parity, the key, the sibling path. */
function numsControlBlock(parity: 0 | 1, ...path: Uint8Array[]): Buffer {
  return Buffer.concat([Buffer.from([TAP_LEAF_VERSION | parity]), TAPROOT_NUMS_X, ...path]);
}

/** The to_local taproot output (revoke and delay leaves under NUMS) and its revoke-path spend data. */
export function taprootToLocal(
  revocationX: Uint8Array,
  localDelayX: Uint8Array,
  delayLeafHash: Uint8Array,
): { pkScript: Buffer; revokeScript: Buffer; controlBlock: Buffer; revokeLeafHash: Buffer } {
  const revokeScript = taprootRevokeScript(localDelayX, revocationX);
  const revokeLeafHash = tapLeafHash(revokeScript);
  const out = taprootOutput(TAPROOT_NUMS_X, tapBranchHash(revokeLeafHash, delayLeafHash));
  return { pkScript: out.pkScript, revokeScript, controlBlock: numsControlBlock(out.parity, delayLeafHash), revokeLeafHash };
}

/** The to_remote taproot output (single leaf under NUMS) and its spend data. */
export function taprootToRemote(toRemoteX: Uint8Array, flavour: TaprootFlavour): { pkScript: Buffer; leafScript: Buffer; controlBlock: Buffer; leafHash: Buffer } {
  const leafScript = taprootToRemoteScript(toRemoteX, flavour);
  const leafHash = tapLeafHash(leafScript);
  const out = taprootOutput(TAPROOT_NUMS_X, leafHash);
  return { pkScript: out.pkScript, leafScript, controlBlock: numsControlBlock(out.parity), leafHash };
}
