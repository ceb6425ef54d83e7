/**
 * BOLT 7 checks that need no state: the signatures of each announcement (over the double-SHA256 of the
 * bytes after the signatures, trailing bytes included), the chain hash, field rules, and the funding
 * output a `channel_announcement` names (a P2WSH of the 2-of-2 of its bitcoin keys). Each check returns
 * the reason it failed, or undefined; the gossip manager decides what a failure costs the peer.
 *
 * Also builds and signs our own announcements (the same signed parts, so the two never disagree).
 */
import { createHash } from 'node:crypto';
import { fundingScript } from '../bitcoin/bolt3-scripts.js';
import { p2wsh } from '../bitcoin/script.js';
import { secp } from '../crypto/secp256k1.js';
import { decodeAddresses } from './address.js';
import { gossipMessagePayload, type ChannelAnnouncement, type ChannelUpdate, type NodeAnnouncement } from './messages.js';

/** Offsets of the signed part in each payload (after the type): four signatures, or one. */
export const SIGNED_FROM = { channelAnnouncement: 256, nodeAnnouncement: 64, channelUpdate: 64 } as const;

export function sha256d(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

/** The digest each signature of a message signs; `payload` is its raw bytes after the type. */
export function signedDigest(payload: Uint8Array, from: number): Buffer {
  return sha256d(payload.subarray(from));
}

/** channel_update's channel_flags: bit 0 the direction (0 = from node_id_1), bit 1 disabled. */
export const ChannelFlags = { DIRECTION: 1, DISABLED: 2 } as const;
/** message_flags bit 0 (`must_be_one`: htlc_maximum_msat is present). */
export const MESSAGE_FLAG_MUST_BE_ONE = 1;

export function checkChannelAnnouncement(m: ChannelAnnouncement, payload: Uint8Array, chainHash: Buffer): string | undefined {
  if (!m.chainHash.equals(chainHash)) return 'channel_announcement: unknown chain hash';
  if (Buffer.compare(m.nodeId1, m.nodeId2) >= 0) return 'channel_announcement: node_id_1 is not before node_id_2';
  for (const k of [m.nodeId1, m.nodeId2, m.bitcoinKey1, m.bitcoinKey2]) if (!secp.isPublicKey(k)) return 'channel_announcement: invalid public key';
  const h = signedDigest(payload, SIGNED_FROM.channelAnnouncement);
  if (!secp.verify(h, m.nodeId1, m.nodeSignature1)) return 'channel_announcement: bad node_signature_1';
  if (!secp.verify(h, m.nodeId2, m.nodeSignature2)) return 'channel_announcement: bad node_signature_2';
  if (!secp.verify(h, m.bitcoinKey1, m.bitcoinSignature1)) return 'channel_announcement: bad bitcoin_signature_1';
  if (!secp.verify(h, m.bitcoinKey2, m.bitcoinSignature2)) return 'channel_announcement: bad bitcoin_signature_2';
  return undefined;
}

/** The output script a channel_announcement's funding output must have. */
export function announcedFundingScript(m: Pick<ChannelAnnouncement, 'bitcoinKey1' | 'bitcoinKey2'>): Buffer {
  return p2wsh(fundingScript(m.bitcoinKey1, m.bitcoinKey2));
}

export function checkNodeAnnouncement(m: NodeAnnouncement, payload: Uint8Array): string | undefined {
  if (!secp.isPublicKey(m.nodeId)) return 'node_announcement: invalid node_id';
  try {
    decodeAddresses(m.addresses);
  } catch (e) {
    return (e as Error).message;
  }
  if (!secp.verify(signedDigest(payload, SIGNED_FROM.nodeAnnouncement), m.nodeId, m.signature)) return 'node_announcement: bad signature';
  return undefined;
}

/** Checks an update against the announced channel's node ids and capacity (msat). */
export function checkChannelUpdate(m: ChannelUpdate, payload: Uint8Array, chainHash: Buffer, nodeIds: readonly [Buffer, Buffer], capacityMsat: bigint): string | undefined {
  if (!m.chainHash.equals(chainHash)) return 'channel_update: unknown chain hash';
  if ((m.messageFlags & MESSAGE_FLAG_MUST_BE_ONE) === 0) return 'channel_update: message_flags must_be_one is 0';
  if (m.htlcMaximumMsat > capacityMsat) return 'channel_update: htlc_maximum_msat above the channel capacity';
  if (m.htlcMinimumMsat > m.htlcMaximumMsat) return 'channel_update: htlc_minimum_msat above htlc_maximum_msat';
  const signer = nodeIds[m.channelFlags & ChannelFlags.DIRECTION]!;
  if (!secp.verify(signedDigest(payload, SIGNED_FROM.channelUpdate), signer, m.signature)) return 'channel_update: bad signature';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Our own messages

/** `msg` with `signature` set by `sign` over its signed part; returns the message and its payload. */
export function signNodeAnnouncement(m: Omit<NodeAnnouncement, 'signature'>, sign: (digest: Buffer) => Buffer): { msg: NodeAnnouncement; payload: Buffer } {
  const draft = { ...m, signature: Buffer.alloc(64) } as NodeAnnouncement;
  const msg = { ...draft, signature: sign(signedDigest(gossipMessagePayload(draft), SIGNED_FROM.nodeAnnouncement)) };
  return { msg, payload: gossipMessagePayload(msg) };
}

export function signChannelUpdate(m: Omit<ChannelUpdate, 'signature'>, sign: (digest: Buffer) => Buffer): { msg: ChannelUpdate; payload: Buffer } {
  const draft = { ...m, signature: Buffer.alloc(64) } as ChannelUpdate;
  const msg = { ...draft, signature: sign(signedDigest(gossipMessagePayload(draft), SIGNED_FROM.channelUpdate)) };
  return { msg, payload: gossipMessagePayload(msg) };
}

/** The digest both sides sign for a channel_announcement (signatures zero until filled in). */
export function channelAnnouncementDigest(m: Omit<ChannelAnnouncement, 'nodeSignature1' | 'nodeSignature2' | 'bitcoinSignature1' | 'bitcoinSignature2'>): Buffer {
  const z = Buffer.alloc(64);
  const draft = { ...m, nodeSignature1: z, nodeSignature2: z, bitcoinSignature1: z, bitcoinSignature2: z } as ChannelAnnouncement;
  return signedDigest(gossipMessagePayload(draft), SIGNED_FROM.channelAnnouncement);
}
