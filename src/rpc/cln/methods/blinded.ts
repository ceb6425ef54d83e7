/** `dev-blindedpath`: a blinded path to this node through a peer, for one of its invoices (node/core/blinded.ts). */
import { blindedPathToUs } from '../../../node/core/index.js';
import type { MethodDef } from '../method.js';

export const devBlindedpath: MethodDef = {
  name: 'dev-blindedpath',
  async run(params, { core }) {
    const relayGiven = params.fee_base_msat !== undefined || params.fee_proportional_millionths !== undefined || params.cltv_expiry_delta !== undefined;
    const path = await blindedPathToUs(core, {
      paymentHash: Buffer.from(params.payment_hash as string, 'hex'),
      peer: Buffer.from(params.peer as string, 'hex'),
      ...(relayGiven
        ? { relay: { feeBaseMsat: Number(params.fee_base_msat ?? 0), feeProportionalMillionths: Number(params.fee_proportional_millionths ?? 0), cltvExpiryDelta: Number(params.cltv_expiry_delta ?? 0) } }
        : {}),
    });
    return {
      introduction_node_id: path.introductionNodeId.toString('hex'),
      first_path_key: path.pathKey.toString('hex'),
      path: path.hops.map((h) => ({ blinded_node_id: h.blindedNodeId.toString('hex'), encrypted_recipient_data: h.encryptedData.toString('hex') })),
      payinfo: {
        fee_base_msat: path.payinfo.feeBaseMsat,
        fee_proportional_millionths: path.payinfo.feeProportionalMillionths,
        cltv_expiry_delta: path.payinfo.cltvExpiryDelta,
        htlc_minimum_msat: path.payinfo.htlcMinimumMsat,
      },
      min_final_cltv_expiry: path.minFinalCltvExpiry,
      short_channel_id: path.shortChannelId,
    };
  },
};
