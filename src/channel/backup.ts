/**
 * What a channel hands its backup sink for each commitment the counterparty revoked: everything a
 * watchtower needs to punish the commitment's publication while we are offline. The channel layer
 * defines this shape; `node/` passes the watchtower client, whose breach data it matches.
 */
import type { RevokedCommitment } from './channel.js';
import { buildCommitment } from './commitments.js';
import type { ChannelKeys } from './signer.js';
import type { ChannelData } from './state.js';

/** A revoked state's signing information (LND's names), and where the justice transaction pays. */
export interface RevokedStateBackup {
  commitment: 'legacy' | 'anchor';
  /** The revoked commitment's txid, internal byte order. */
  breachTxid: Buffer;
  revocationPubKey: Buffer;
  localDelayPubKey: Buffer;
  csvDelay: number;
  toLocal?: { index: number; amountSat: bigint; revocationPrivKey: Buffer };
  toRemote?: { index: number; amountSat: bigint; pubKey: Buffer; privKey: Buffer };
  /** The channel's tower sweep script (a wallet address). */
  sweepScript: Buffer;
}

export interface BackupSink {
  backupState(channelId: Buffer, commitHeight: number, backup: RevokedStateBackup): Promise<boolean>;
  /** The channel's funding output is spent: its sessions may be cleaned up later (LND's closed-channel handling). */
  markChannelClosed?(channelId: Buffer, height: number): Promise<void>;
}

/** The backup of `r`, a commitment of channel `d` that the counterparty just revoked. */
export function revokedStateBackup(d: ChannelData, keys: ChannelKeys, r: RevokedCommitment, sweepScript: Buffer): RevokedStateBackup {
  const tx = buildCommitment(d, 'remote', r.commit.index, r.commit.point, r.commit.spec);
  const toLocalIdx = tx.outputs.findIndex((o) => o.kind === 'to_local');
  const toRemoteIdx = tx.outputs.findIndex((o) => o.kind === 'to_remote');
  return {
    commitment: d.format === 'static_remotekey' ? 'legacy' : 'anchor',
    breachTxid: Buffer.from(r.commit.txid, 'hex').reverse(),
    revocationPubKey: Buffer.from(tx.params.keys.revocationPubkey),
    localDelayPubKey: Buffer.from(tx.params.keys.localDelayedPubkey),
    csvDelay: d.local.toSelfDelay,
    toLocal: toLocalIdx >= 0 ? { index: toLocalIdx, amountSat: tx.outputs[toLocalIdx]!.amountSat, revocationPrivKey: keys.revocationPrivkey(r.secret) } : undefined,
    toRemote: toRemoteIdx >= 0 ? { index: toRemoteIdx, amountSat: tx.outputs[toRemoteIdx]!.amountSat, pubKey: Buffer.from(keys.basepoints.paymentBasepoint), privKey: keys.paymentBaseSecret } : undefined,
    sweepScript,
  };
}
