/**
 * A channel fake for the payment sender's unit tests (test/payment/send.test.ts, onchain-send.test.ts):
 * HTLC ids handed out as the real channel does (beforeSend first, then the id is used), its state a
 * plain ChannelData the test sets.
 */
import type { ChannelData } from '../../src/channel/state.js';
import { secp } from '../../src/crypto/secp256k1.js';
import type { SqlPaymentRepository } from '../../src/store/payments.js';

export const peerKey = Buffer.alloc(32, 0x11);
export const peerId = secp.publicKey(peerKey).toString('hex');

export interface FakeChannel {
  id: string;
  usable: boolean;
  data: ChannelData;
  sent: { id: bigint; onion: Buffer; recordedFirst: boolean }[];
  addHtlc(h: { amountMsat: bigint; paymentHash: Buffer; cltvExpiry: number; onion?: Buffer; beforeSend?: (id: bigint) => Promise<void> }): Promise<bigint>;
}

/** A channel to `peerId` that hands out HTLC ids as the real one does (beforeSend, then the id is used). */
export function fakeChannel(id: string, scid: string, store: SqlPaymentRepository): FakeChannel {
  const data = {
    peerId,
    shortChannelId: scid,
    opener: 'remote',
    local: { channelReserveSat: 0n, maxHtlcValueInFlightMsat: 1_000_000_000n },
    remote: { channelReserveSat: 0n, maxHtlcValueInFlightMsat: 1_000_000_000n },
    localNextHtlcId: 0n,
    localCommit: { spec: { htlcs: [], toLocalMsat: 1_000_000_000n, toRemoteMsat: 0n, feeratePerKw: 253 } },
    remoteCommit: { spec: { htlcs: [] } },
    localChanges: { proposed: [], signed: [], acked: [] },
    remoteChanges: { proposed: [], signed: [], acked: [] },
  } as unknown as ChannelData;
  const ch: FakeChannel = {
    id,
    usable: true,
    data,
    sent: [],
    async addHtlc(h) {
      const htlcId = data.localNextHtlcId;
      await h.beforeSend?.(htlcId);
      const recordedFirst = (await store.parts()).some((p) => p.channelId === id && p.htlcId === htlcId);
      data.localNextHtlcId++;
      ch.sent.push({ id: htlcId, onion: h.onion!, recordedFirst });
      return htlcId;
    },
  };
  return ch;
}
