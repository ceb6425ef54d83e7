import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { secp } from '../../src/crypto/secp256k1.js';
import { TransportError } from '../../src/transport/errors.js';
import { ACT_ONE_LENGTH, ACT_THREE_LENGTH, ACT_TWO_LENGTH, NoiseHandshake, type StaticKey } from '../../src/transport/noise.js';

function key(fill: number): StaticKey {
  const privateKey = Buffer.alloc(32, fill);
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}
const responderKey = key(0x21);
const initiatorKey = key(0x11);

/** Either succeeds or throws a TransportError — never anything else. */
function total(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    assert.ok(err instanceof TransportError, `unexpected ${String(err)}`);
    return false;
  }
}

/** Random bytes, and valid acts with flips, truncations and extensions. */
function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const b = Buffer.from(valid);
      b[i]! ^= x;
      return b;
    }),
    fc.nat(valid.length).map((n) => valid.subarray(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((extra) => Buffer.concat([valid, extra])),
  );
}

/** A complete, valid handshake transcript to mutate. */
function transcript(): { act1: Buffer; act2: Buffer; act3: Buffer } {
  const i = NoiseHandshake.initiator(initiatorKey, responderKey.publicKey);
  const r = NoiseHandshake.responder(responderKey);
  const act1 = i.actOne();
  r.readActOne(act1);
  const act2 = r.actTwo();
  i.readActTwo(act2);
  const act3 = i.actThree();
  return { act1, act2, act3 };
}

describe('BOLT 8 decoders take arbitrary bytes', () => {
  const t = transcript();

  it('act one: random and mutated input gives a TransportError or success', () => {
    fc.assert(
      fc.property(mutated(t.act1), (act) => {
        const r = NoiseHandshake.responder(responderKey);
        const ok = total(() => r.readActOne(act));
        assert.equal(r.step, ok ? 'act2' : 'failed');
        if (ok) assert.equal(act.length, ACT_ONE_LENGTH);
      }),
      { numRuns: 300 },
    );
  });

  it('act two: mutated input is refused by the initiator', () => {
    fc.assert(
      fc.property(mutated(t.act2), (act) => {
        const i = NoiseHandshake.initiator(initiatorKey, responderKey.publicKey);
        i.actOne();
        // A fresh initiator has a new ephemeral key, so even the original act two must fail its MAC.
        assert.equal(total(() => i.readActTwo(act)), false);
        assert.ok(act.length === ACT_TWO_LENGTH || i.step === 'failed');
      }),
      { numRuns: 300 },
    );
  });

  it('act three: any change to a valid act three is refused', () => {
    fc.assert(
      fc.property(mutated(t.act3), (act) => {
        const i = NoiseHandshake.initiator(initiatorKey, responderKey.publicKey);
        const r = NoiseHandshake.responder(responderKey);
        r.readActOne(i.actOne());
        i.readActTwo(r.actTwo());
        const good = i.actThree();
        const ok = total(() => r.readActThree(act));
        // Only the exact act three of this handshake can pass.
        assert.equal(ok, act.length === ACT_THREE_LENGTH && act.equals(good));
      }),
      { numRuns: 200 },
    );
  });

  it('frames: random headers and bodies give a TransportError, never a crash', () => {
    const i = NoiseHandshake.initiator(initiatorKey, responderKey.publicKey);
    const r = NoiseHandshake.responder(responderKey);
    r.readActOne(i.actOne());
    i.readActTwo(r.actTwo());
    r.readActThree(i.actThree());
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 300 }), (h, b) => {
        total(() => r.result.cipher.decryptHeader(h));
        total(() => r.result.cipher.decryptBody(b));
      }),
      { numRuns: 300 },
    );
  });

  it('frames: a flipped bit anywhere in a valid frame is detected', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (msg, pos, x) => {
        const i = NoiseHandshake.initiator(initiatorKey, responderKey.publicKey);
        const r = NoiseHandshake.responder(responderKey);
        r.readActOne(i.actOne());
        i.readActTwo(r.actTwo());
        r.readActThree(i.actThree());
        const frame = i.result.cipher.encrypt(msg);
        frame[pos % frame.length]! ^= x;
        const ok = total(() => {
          const len = r.result.cipher.decryptHeader(frame.subarray(0, 18));
          r.result.cipher.decryptBody(frame.subarray(18, 18 + len + 16));
        });
        assert.equal(ok, false);
      }),
      { numRuns: 100 },
    );
  });
});
