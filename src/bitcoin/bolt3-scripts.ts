/**
 * The witness scripts of BOLT 3 commitment outputs: the 2-of-2 funding script, to_local, the anchors
 * to_remote, offered and received HTLCs (with and without `option_anchors`) and the anchor. Built with
 * @scure/btc-signer's `Script`, which picks the minimal push for every key, hash and number. The funding,
 * anchor and HTLC scripts check their keys on the curve; to_local and to_remote, built far more often
 * (every HTLC transaction pays to a to_local script), check lengths, as their keys are derived.
 */
import { Script } from '@scure/btc-signer';
import { ripemd160 } from '../crypto/hash.js';
import { BitcoinError } from './errors.js';
import { hash160, keyOfLength, pubkey, scriptNumber } from './script.js';

type ScriptOps = Parameters<typeof Script.encode>[0];

function encode(ops: ScriptOps): Buffer {
  return Buffer.from(Script.encode(ops));
}

/** `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys sorted lexicographically (compressed form). */
export function fundingScript(fundingPubkeyA: Uint8Array, fundingPubkeyB: Uint8Array): Buffer {
  const a = pubkey(fundingPubkeyA, 'funding pubkey');
  const b = pubkey(fundingPubkeyB, 'funding pubkey');
  const [k1, k2] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  return encode([2, k1, k2, 2, 'CHECKMULTISIG']);
}

/** to_local: `OP_IF <revocationpubkey> OP_ELSE <to_self_delay> OP_CSV OP_DROP <local_delayedpubkey> OP_ENDIF OP_CHECKSIG`. */
export function toLocalScript(revocationPubkey: Uint8Array, localDelayedPubkey: Uint8Array, toSelfDelay: number): Buffer {
  return encode([
    'IF',
    keyOfLength(revocationPubkey, 33, 'revocation pubkey'),
    'ELSE',
    scriptNumber(toSelfDelay, 'to_self_delay'),
    'CHECKSEQUENCEVERIFY',
    'DROP',
    keyOfLength(localDelayedPubkey, 33, 'local delayed pubkey'),
    'ENDIF',
    'CHECKSIG',
  ]);
}

/** The anchors to_remote, spendable one block after confirmation: `<remotepubkey> OP_CHECKSIGVERIFY 1 OP_CSV`. */
export function toRemoteConfirmedScript(remotePubkey: Uint8Array): Buffer {
  return encode([keyOfLength(remotePubkey, 33, 'to_remote pubkey'), 'CHECKSIGVERIFY', 1, 'CHECKSEQUENCEVERIFY']);
}

/** `<funding_pubkey> OP_CHECKSIG OP_IFDUP OP_NOTIF OP_16 OP_CSV OP_ENDIF`. */
export function anchorScript(fundingPubkey: Uint8Array): Buffer {
  return encode([pubkey(fundingPubkey, 'anchor funding pubkey'), 'CHECKSIG', 'IFDUP', 'NOTIF', 16, 'CHECKSEQUENCEVERIFY', 'ENDIF']);
}

export interface HtlcScriptKeys {
  revocationPubkey: Uint8Array;
  localHtlcPubkey: Uint8Array;
  remoteHtlcPubkey: Uint8Array;
}

function paymentHash160(paymentHash: Uint8Array): Buffer {
  if (!(paymentHash instanceof Uint8Array) || paymentHash.length !== 32) throw new BitcoinError('INVALID', 'bitcoin: payment hash must be 32 bytes');
  return ripemd160(paymentHash);
}

/** `1 OP_CSV OP_DROP` before the final OP_ENDIF of an `option_anchors` HTLC script (no pinning by unconfirmed spends). */
const ANCHORS_CSV: ScriptOps = [1, 'CHECKSEQUENCEVERIFY', 'DROP'];

/**
 * The start both HTLC scripts share: the revocation key spends at once; otherwise the remote HTLC key's
 * signature is swapped under the witness item whose size tells a preimage (32 bytes) from anything else.
 */
function htlcRevocationAndRemote(keys: HtlcScriptKeys): ScriptOps {
  return [
    'DUP',
    'HASH160',
    hash160(pubkey(keys.revocationPubkey, 'revocation pubkey')),
    'EQUAL',
    'IF',
    'CHECKSIG',
    'ELSE',
    pubkey(keys.remoteHtlcPubkey, 'remote htlc pubkey'),
    'SWAP',
    'SIZE',
    32,
    'EQUAL',
  ];
}

/** Offered HTLC output script (the owner's HTLC to the other side); `anchors` adds `1 OP_CSV OP_DROP`. */
export function offeredHtlcScript(keys: HtlcScriptKeys, paymentHash: Uint8Array, anchors: boolean): Buffer {
  return encode([
    ...htlcRevocationAndRemote(keys),
    'NOTIF',
    'DROP',
    2,
    'SWAP',
    pubkey(keys.localHtlcPubkey, 'local htlc pubkey'),
    2,
    'CHECKMULTISIG',
    'ELSE',
    'HASH160',
    paymentHash160(paymentHash),
    'EQUALVERIFY',
    'CHECKSIG',
    'ENDIF',
    ...(anchors ? ANCHORS_CSV : []),
    'ENDIF',
  ]);
}

/** Received HTLC output script (the other side's HTLC to the owner); `anchors` adds `1 OP_CSV OP_DROP`. */
export function receivedHtlcScript(keys: HtlcScriptKeys, paymentHash: Uint8Array, cltvExpiry: number, anchors: boolean): Buffer {
  return encode([
    ...htlcRevocationAndRemote(keys),
    'IF',
    'HASH160',
    paymentHash160(paymentHash),
    'EQUALVERIFY',
    2,
    'SWAP',
    pubkey(keys.localHtlcPubkey, 'local htlc pubkey'),
    2,
    'CHECKMULTISIG',
    'ELSE',
    'DROP',
    scriptNumber(cltvExpiry, 'cltv_expiry'),
    'CHECKLOCKTIMEVERIFY',
    'DROP',
    'CHECKSIG',
    'ENDIF',
    ...(anchors ? ANCHORS_CSV : []),
    'ENDIF',
  ]);
}
