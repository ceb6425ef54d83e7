/**
 * SendPaymentSync (payments.ts) when the payment sender stops waiting (PaymentError TIMEOUT: parts still
 * in flight after the payment's time): `payment_error` is LND's text for FailureReasonTimeout,
 * "timeout" (channeldb FailureReason.String()), not "error". A unit test of the shell: the sender is a
 * stub that answers TIMEOUT as the real one does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { sha256 } from '../../../src/crypto/hash.js';
import type { NodeCore } from '../../../src/node/core/index.js';
import { PaymentError, type PayArgs } from '../../../src/payment/send.js';
import { sendPaymentSync } from '../../../src/rpc/lnd/payments.js';

describe('SendPaymentSync: the sender’s TIMEOUT', () => {
  it('answers payment_error "timeout" with the payment hash', async () => {
    const preimage = randomBytes(32);
    const hash = sha256(preimage);
    const calls: PayArgs[] = [];
    const sender = {
      pay: async (args: PayArgs): Promise<never> => {
        calls.push(args);
        const record = { paymentHash: args.paymentHash.toString('hex'), status: 'pending' };
        throw new PaymentError('TIMEOUT', 'Stopped waiting: 1 part still in flight', record as never);
      },
    };
    const core = { payments: sender, channelManager: { list: () => [], blockHeight: 100 }, config: { network: 'regtest' }, nodeId: Buffer.alloc(33, 2) } as unknown as NodeCore;
    const dest = Buffer.concat([Buffer.from([3]), randomBytes(32)]);
    const r = await sendPaymentSync(core, { dest, amt: '1000', payment_hash: hash, dest_custom_records: { '5482373484': preimage } });
    assert.equal(calls.length, 1);
    assert.deepEqual(r, { payment_error: 'timeout', payment_hash: hash });
  });
});
