/**
 * Onions anode builds, peeled by LDK 0.1's `peel_payment_onion` (the function LDK's ChannelManager runs
 * on every incoming HTLC): a forward (LDK finds the next channel, amount and CLTV, and the onion it
 * forwards peels at the next hop with anode's code), a payment to receive (payment secret and total), a
 * keysend (the preimage), and bad onions, for which LDK and anode choose the same failure code. LDK runs in a child process (ldk-onion-host.ts); without LDK this test skips loudly,
 * and fails with ANODE_REQUIRE_INTEROP=1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { FailureCode } from '../../src/onion/failure.js';
import { encodeHopPayload, type HopPayload } from '../../src/onion/payload.js';
import { createOnion, peelOnion } from '../../src/onion/sphinx.js';
import { interopGate } from '../interop/adapter.js';
import { ldkUnavailableReason } from '../interop/peers/ldk.js';
import type { HostHtlc, LdkPeel } from './ldk-onion-host.js';

const gate = interopGate('ldk', 'LDK peeling anode onions', ldkUnavailableReason());
const HOST = fileURLToPath(new URL('./ldk-onion-host.js', import.meta.url));

function ldk(seed: Buffer, htlcs: HostHtlc[]): { nodeId: string; peels: LdkPeel[] } {
  const out = execFileSync(process.execPath, [HOST], { input: JSON.stringify({ seed: seed.toString('hex'), htlcs }), encoding: 'utf8', timeout: 60_000 });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line from the LDK host: ${out.slice(0, 200)}`);
  return JSON.parse(line.slice('RESULT '.length)) as { nodeId: string; peels: LdkPeel[] };
}

const HEIGHT = 100;

describe('LDK peels the onions anode builds', { skip: gate.skip, timeout: 120_000 }, () => {
  it('forward, receive, keysend, and the same failure code for bad onions', () => {
    gate.require();
    const seed = randomBytes(32);
    const ldkId = Buffer.from(ldk(seed, []).nodeId, 'hex');
    const nextKey = randomBytes(32);
    const ourKey = randomBytes(32);
    const hash = randomBytes(32);
    const secret = randomBytes(32);
    const preimage = randomBytes(32);

    const onion = (first: Buffer, payloads: Partial<HopPayload>[], paymentHash: Uint8Array = hash) => {
      const nodes = [first, secp.publicKey(nextKey)];
      const hops = payloads.map((p, i) => ({ nodeId: nodes[i]!, payload: encodeHopPayload(p) }));
      return createOnion({ sessionKey: randomBytes(32), hops, associatedData: paymentHash });
    };
    const forwardPayloads: Partial<HopPayload>[] = [
      { amtToForward: 1_000_000n, outgoingCltvValue: 1000, shortChannelId: '700000x12x1' },
      { amtToForward: 1_000_000n, outgoingCltvValue: 1000, paymentData: { paymentSecret: secret, totalMsat: 1_000_000n } },
    ];
    const forward = onion(ldkId, forwardPayloads);
    const receive = onion(ldkId, [{ amtToForward: 5000n, outgoingCltvValue: 1000, paymentData: { paymentSecret: secret, totalMsat: 9000n } }]);
    const keysendHash = sha256(preimage);
    const keysend = onion(ldkId, [{ amtToForward: 5000n, outgoingCltvValue: 1000, keysendPreimage: preimage }], keysendHash);

    // Bad onions: the same damage to an onion for LDK and to one for a node of ours.
    const damages: [string, (b: Buffer) => void, number][] = [
      ['a payload byte flipped', (b) => void (b[200] ^= 1), FailureCode.INVALID_ONION_HMAC],
      ['an unknown version', (b) => void (b[0] = 1), FailureCode.INVALID_ONION_VERSION],
      ['an ephemeral key off the curve', (b) => void b.fill(0xff, 2, 34), FailureCode.INVALID_ONION_KEY],
    ];
    const damaged = damages.map(([, damage]) => {
      const forLdk = Buffer.from(onion(ldkId, [forwardPayloads[1]!]).packet);
      const forUs = Buffer.from(onion(secp.publicKey(ourKey), [forwardPayloads[1]!]).packet);
      damage(forLdk);
      damage(forUs);
      return { forLdk, forUs };
    });
    // A forwarding payload without short_channel_id: authentic, but invalid_onion_payload.
    const noScid = [{ amtToForward: 1n, outgoingCltvValue: 1000 }, forwardPayloads[1]!];
    const noScidLdk = onion(ldkId, noScid).packet;
    const noScidUs = onion(secp.publicKey(ourKey), noScid).packet;

    // A forward leaves LDK's minimum CLTV delta (its MIN_CLTV_EXPIRY_DELTA) between incoming and outgoing.
    const htlc = (packet: Uint8Array, amountMsat: bigint, paymentHash: Uint8Array = hash, cltvExpiry = 1040): HostHtlc => ({
      onion: Buffer.from(packet).toString('hex'),
      paymentHash: Buffer.from(paymentHash).toString('hex'),
      amountMsat: amountMsat.toString(),
      cltvExpiry,
      height: HEIGHT,
    });
    const { nodeId, peels } = ldk(seed, [
      htlc(forward.packet, 1_001_000n, hash, 1144),
      htlc(receive.packet, 5000n),
      htlc(keysend.packet, 5000n, keysendHash),
      ...damaged.map((d) => htlc(d.forLdk, 5000n)),
      htlc(noScidLdk, 5000n),
    ]);
    assert.equal(nodeId, ldkId.toString('hex'));
    const [fwd, rcv, ks, ...bad] = peels;

    assert.ok(fwd?.ok && fwd.kind === 'forward', `forward: ${JSON.stringify(fwd)}`);
    assert.equal(fwd.shortChannelId, '700000x12x1');
    assert.equal(fwd.outgoingAmtMsat, '1000000');
    assert.equal(fwd.outgoingCltv, 1000);
    assert.equal(fwd.sharedSecret, forward.sharedSecrets[0]!.toString('hex'));
    const next = peelOnion(Buffer.from(fwd.nextOnion!, 'hex'), nextKey, hash);
    assert.equal(next.kind, 'final', 'the onion LDK forwards peels at the next hop with anode');
    if (next.kind === 'final') assert.deepEqual(next.payload.paymentData, forwardPayloads[1]!.paymentData);

    assert.ok(rcv?.ok && rcv.kind === 'receive', `receive: ${JSON.stringify(rcv)}`);
    assert.equal(rcv.paymentSecret, secret.toString('hex'));
    assert.equal(rcv.totalMsat, '9000');
    assert.equal(rcv.outgoingAmtMsat, '5000');

    assert.ok(ks?.ok && ks.kind === 'keysend', `keysend: ${JSON.stringify(ks)}`);
    assert.equal(ks.preimage, preimage.toString('hex'));

    damages.forEach(([what, , code], i) => {
      const l = bad[i]!;
      assert.ok(!l.ok, `${what}: LDK accepted it`);
      assert.equal(l.errCode, code, `${what}: LDK's code (${l.msg})`);
      const ours = peelOnion(damaged[i]!.forUs, ourKey, hash);
      assert.ok(ours.kind === 'malformed' && ours.failureCode === code, `${what}: anode's code`);
    });
    const l = bad[damages.length]!;
    assert.ok(!l.ok && l.errCode === FailureCode.INVALID_ONION_PAYLOAD, `no scid: ${JSON.stringify(l)}`);
    const ours = peelOnion(noScidUs, ourKey, hash);
    assert.ok(ours.kind === 'invalid-payload' && ours.failure.code === FailureCode.INVALID_ONION_PAYLOAD);
  });
});
