/**
 * Short channel id aliases (BOLT 2 `channel_ready` TLV 1, `option_scid_alias`): the name a channel's
 * peer may use for it in an onion instead of the real `short_channel_id` — what LDK, LND and CLN put in
 * the route hints of their invoices for private (or unconfirmed) channels.
 *
 * - Ours (`localAlias`): drawn once per channel, before our first `channel_ready` (which carries it),
 *   and kept in the channel's stored data (`ChannelData`, written in the same transaction as the
 *   `channel_ready` bookkeeping, so it is committed before it is sent). Drawn at random in LND's alias
 *   range (block heights 16 000 000 – 16 250 000: no chain reaches them for centuries, so no real scid
 *   can be one) and never equal to any scid or alias of our other channels.
 * - Theirs (`remoteAlias`): what the peer's `channel_ready` named; the scid our invoices' route hints
 *   give for the hop from that peer to us (the name the peer knows the channel by).
 *
 * Incoming HTLCs naming either our alias or the real scid of a channel go over it (`channelByScid`).
 */
import { randomBytes } from 'node:crypto';
import { scidFromBytes, scidToBytes } from '../onion/scid.js';
import type { ChannelData } from './state.js';

/** LND's alias range (aliasmgr): the first block height of an alias, and the end of the range. */
export const ALIAS_FIRST_BLOCK = 16_000_000;
export const ALIAS_END_BLOCK = 16_250_000;

/** Whether `scid` (`BLOCKxTXxOUT`) lies in the alias range. */
export function isAliasScid(scid: string): boolean {
  const b = scidToBytes(scid);
  if (b === undefined) return false;
  const block = b.readUIntBE(0, 3);
  return block >= ALIAS_FIRST_BLOCK && block < ALIAS_END_BLOCK;
}

/** Every scid (real or alias, either side's) the channels are known by. */
function namesOf(d: Pick<ChannelData, 'shortChannelId' | 'localAlias' | 'remoteAlias'>): (string | undefined)[] {
  return [d.shortChannelId, d.localAlias, d.remoteAlias];
}

/**
 * A fresh alias in the range, distinct from every scid and alias of `channels`. `random` gives bytes
 * (tests pass their own to force collisions).
 */
export function newLocalAlias(channels: Iterable<{ data: Pick<ChannelData, 'shortChannelId' | 'localAlias' | 'remoteAlias'> }>, random: (n: number) => Buffer = randomBytes): string {
  const taken = new Set<string>();
  for (const ch of channels) for (const n of namesOf(ch.data)) if (n !== undefined) taken.add(n);
  for (;;) {
    const r = random(9);
    const b = Buffer.alloc(8);
    b.writeUIntBE(ALIAS_FIRST_BLOCK + (r.readUInt32BE(0) % (ALIAS_END_BLOCK - ALIAS_FIRST_BLOCK)), 0, 3);
    r.copy(b, 3, 4, 9); // transaction and output index: random
    const alias = scidFromBytes(b);
    if (!taken.has(alias)) return alias;
  }
}

/** `channel_ready`'s TLV 1 for our alias (none for a channel without one). */
export function aliasTlv(d: Pick<ChannelData, 'localAlias'>): { shortChannelIdAlias?: Buffer } {
  const b = d.localAlias === undefined ? undefined : scidToBytes(d.localAlias);
  return b === undefined ? {} : { shortChannelIdAlias: b };
}

/** The alias a peer's `channel_ready` named, as `BLOCKxTXxOUT` (undefined when it named none). */
export function aliasFromTlv(b: Uint8Array | undefined): string | undefined {
  return b === undefined || b.length !== 8 ? undefined : scidFromBytes(b);
}

/**
 * The channel an onion's `short_channel_id` names for forwarding: the one with that real scid, else the
 * one whose alias (ours, the name we gave the peer) it is. Only our own alias counts: the peer's names
 * its side of the channel, not a hop out of us.
 */
export function channelByScid<C extends { data: Pick<ChannelData, 'shortChannelId' | 'localAlias'> }>(channels: readonly C[], scid: string): C | undefined {
  return channels.find((c) => c.data.shortChannelId === scid) ?? channels.find((c) => c.data.localAlias === scid);
}
