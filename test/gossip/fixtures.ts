/** Signed BOLT 7 messages for tests, from private keys (node ids sorted as BOLT 7 requires). */
import { randomBytes } from 'node:crypto';
import { secp } from '../../src/crypto/secp256k1.js';
import { encodeAddresses } from '../../src/gossip/address.js';
import { gossipMessagePayload, GossipMessageType, scidFromParts, type ChannelAnnouncement, type ChannelUpdate, type NodeAnnouncement } from '../../src/gossip/messages.js';
import { announcedFundingScript, channelAnnouncementDigest, signChannelUpdate, signNodeAnnouncement } from '../../src/gossip/validate.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';
import type { BtcdNode } from '../harness/btcd.js';

export const REGTEST = CHAIN_HASH.regtest;

export interface TestNode {
  priv: Buffer;
  id: Buffer;
}

export function testNode(priv: Buffer = randomBytes(32)): TestNode {
  return { priv, id: secp.publicKey(priv) };
}

export interface TestChannel {
  scid: bigint;
  nodes: [TestNode, TestNode];
  bitcoin: [TestNode, TestNode];
  msg: ChannelAnnouncement;
  payload: Buffer;
  /** The P2WSH script its funding output must have. */
  script: Buffer;
}

/** A channel_announcement signed by all four keys; `a`/`b` are sorted into node_1/node_2. */
export function announce(
  scid: bigint,
  a: TestNode = testNode(),
  b: TestNode = testNode(),
  bitcoin: [TestNode, TestNode] = [testNode(), testNode()],
  chainHash = REGTEST,
  features: Buffer = Buffer.alloc(0),
): TestChannel {
  const nodes = (Buffer.compare(a.id, b.id) < 0 ? [a, b] : [b, a]) as [TestNode, TestNode];
  const base = {
    type: GossipMessageType.CHANNEL_ANNOUNCEMENT,
    features,
    chainHash,
    shortChannelId: scid,
    nodeId1: nodes[0].id,
    nodeId2: nodes[1].id,
    bitcoinKey1: bitcoin[0].id,
    bitcoinKey2: bitcoin[1].id,
  } as const;
  const h = channelAnnouncementDigest(base);
  const msg: ChannelAnnouncement = {
    ...base,
    nodeSignature1: secp.sign(h, nodes[0].priv),
    nodeSignature2: secp.sign(h, nodes[1].priv),
    bitcoinSignature1: secp.sign(h, bitcoin[0].priv),
    bitcoinSignature2: secp.sign(h, bitcoin[1].priv),
  };
  return { scid, nodes, bitcoin, msg, payload: gossipMessagePayload(msg), script: announcedFundingScript(msg) };
}

/** The P2WSH funding script of two bitcoin keys (fund it on chain, then announce at its scid). */
export function fundingScriptOf(bitcoin: [TestNode, TestNode]): Buffer {
  return announcedFundingScript({ bitcoinKey1: bitcoin[0].id, bitcoinKey2: bitcoin[1].id });
}

export function update(
  ch: TestChannel,
  direction: 0 | 1,
  o: Partial<Omit<ChannelUpdate, 'type' | 'signature' | 'shortChannelId'>> & { disabled?: boolean } = {},
): { msg: ChannelUpdate; payload: Buffer } {
  const { disabled, ...fields } = o;
  return signChannelUpdate(
    {
      type: GossipMessageType.CHANNEL_UPDATE,
      chainHash: REGTEST,
      shortChannelId: ch.scid,
      timestamp: Math.floor(Date.now() / 1000),
      messageFlags: 1,
      channelFlags: direction | (disabled ? 2 : 0),
      cltvExpiryDelta: 40,
      htlcMinimumMsat: 1000n,
      feeBaseMsat: 1000,
      feeProportionalMillionths: 10,
      htlcMaximumMsat: 100_000_000n,
      ...fields,
    },
    (d) => secp.sign(d, ch.nodes[direction].priv),
  );
}

export function nodeAnnouncement(n: TestNode, o: { alias?: string; addresses?: string[]; timestamp?: number; rgb?: string } = {}): { msg: NodeAnnouncement; payload: Buffer } {
  const alias = Buffer.alloc(32);
  alias.write(o.alias ?? 'test', 'utf8');
  return signNodeAnnouncement(
    {
      type: GossipMessageType.NODE_ANNOUNCEMENT,
      features: Buffer.alloc(0),
      timestamp: o.timestamp ?? Math.floor(Date.now() / 1000),
      nodeId: n.id,
      rgbColor: Buffer.from(o.rgb ?? 'aabbcc', 'hex'),
      alias,
      addresses: encodeAddresses(o.addresses ?? []),
    },
    (d) => secp.sign(d, n.priv),
  );
}

/** Funds the 2-of-2 of two fresh bitcoin keys on `btcd` and returns the announcement of `a` and `b` at its scid. */
export async function fundedOnChain(btcd: BtcdNode, a: TestNode, b: TestNode, amountSat = 1_000_000n): Promise<{ ch: TestChannel; txid: string; amountSat: bigint }> {
  const bitcoin: [TestNode, TestNode] = [testNode(), testNode()];
  const utxo = await btcd.fund(fundingScriptOf(bitcoin), amountSat);
  const height = await btcd.getBlockCount();
  const block = await btcd.getBlock(await btcd.getBlockHash(height));
  const tx = block.transactions.findIndex((t) => t.txid === utxo.txid);
  if (tx <= 0) throw new Error(`funding ${utxo.txid} not in block ${height}`);
  return { ch: announce(scidFromParts({ block: height, tx, output: utxo.vout }), a, b, bitcoin), txid: utxo.txid, amountSat };
}
