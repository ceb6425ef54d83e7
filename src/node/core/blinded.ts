/**
 * A blinded path to this node through one of its peers, for an invoice of ours (`dev-blindedpath`; what
 * a BOLT 12 invoice would carry): the peer is the introduction node and relays at its own policy for
 * the channel towards us (its channel_update in the graph, or the values given), and our hop's `path_id`
 * is the invoice's payment secret (`payment/blinded.ts`).
 */
import { randomBytes } from 'node:crypto';
import type { PaymentRelay } from '../../onion/blinding.js';
import { receivePath, type BlindedPayinfo } from '../../payment/blinded.js';
import type { NodeCore } from './api.js';
import { CoreError } from './errors.js';
import { scidFromString } from '../../gossip/messages.js';

export interface BlindedPathRequest {
  paymentHash: Buffer;
  /** The introduction node: a peer we have a channel with. */
  peer: Buffer;
  /** The peer's relay policy towards us, when the graph has no channel_update of its for the channel. */
  relay?: PaymentRelay;
}

export interface BlindedPathView {
  introductionNodeId: Buffer;
  pathKey: Buffer;
  hops: { blindedNodeId: Buffer; encryptedData: Buffer }[];
  payinfo: BlindedPayinfo;
  /** The invoice's own final CLTV delta, which the payer adds below the path's. */
  minFinalCltvExpiry: number;
  /** The channel the introduction node forwards over. */
  shortChannelId: string;
}

export async function blindedPathToUs(core: NodeCore, req: BlindedPathRequest): Promise<BlindedPathView> {
  const book = core.invoices;
  const manager = core.channelManager;
  if (!book || !manager) throw new CoreError('NOT_ACTIVE', 'channels not active (no chain backend)');
  const inv = await book.get(req.paymentHash);
  if (!inv) throw new CoreError('INVALID', `no invoice with payment_hash ${req.paymentHash.toString('hex')}`);
  if (inv.status !== 'unpaid') throw new CoreError('INVALID', `invoice ${inv.label} is ${inv.status}`);
  const peer = req.peer.toString('hex');
  const channels = manager.list().filter((c) => c.data.peerId === peer && c.open && c.data.shortChannelId !== undefined);
  const ch = channels.find((c) => c.usable) ?? channels[0];
  if (!ch) throw new CoreError('INVALID', `no channel with a short_channel_id to peer ${peer}`);
  const scid = ch.data.shortChannelId!;
  // BOLT 7: the update of the direction the peer forwards in: bit 0 if the peer is node_1 (the lesser id).
  const direction: 0 | 1 = Buffer.compare(req.peer, core.nodeId) < 0 ? 0 : 1;
  const scidNumber = scidFromString(scid);
  const row = scidNumber === undefined ? undefined : core.graph?.row(scidNumber);
  const known = row === undefined ? undefined : core.graph!.policy(row, direction);
  const relay = req.relay ?? known;
  if (!relay) throw new CoreError('INVALID', `no channel_update of ${peer} for ${scid} in the graph: give fee_base_msat, fee_proportional_millionths and cltv_expiry_delta`);
  const path = receivePath({
    sessionKey: randomBytes(32),
    ourNodeId: core.nodeId,
    invoice: inv,
    peerId: req.peer,
    shortChannelId: scid,
    relay: { cltvExpiryDelta: relay.cltvExpiryDelta, feeBaseMsat: relay.feeBaseMsat, feeProportionalMillionths: relay.feeProportionalMillionths, htlcMinimumMsat: known?.htlcMinimumMsat ?? ch.data.local.htlcMinimumMsat },
    ourHtlcMinimumMsat: ch.data.local.htlcMinimumMsat,
    height: manager.blockHeight,
    now: Math.floor(Date.now() / 1000),
  });
  return { ...path, minFinalCltvExpiry: inv.minFinalCltvExpiry, shortChannelId: scid };
}
