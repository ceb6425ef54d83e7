import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoiseHandshake, type StaticKey } from '../../src/transport/noise.js';
import { CipherState, MAX_MESSAGE_LENGTH, TransportCipher } from '../../src/transport/cipher.js';
import { JS_AEAD_MAX } from '../../src/crypto/aead.js';
import { TransportError } from '../../src/transport/errors.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { hex, readVector } from '../helpers.js';

interface Step {
  act: 1 | 2 | 3;
  dir: 'input' | 'output';
  hex?: string;
  error?: string;
  keys?: { sk: string; rk: string };
}
interface HandshakeVector {
  name: string;
  role: 'initiator' | 'responder';
  keys: Record<string, string>;
  steps: Step[];
}
interface Vectors {
  handshakes: HandshakeVector[];
  message: { outputs: Record<string, string>; ck: string; sk: string; rk: string };
}

const vectors = readVector<Vectors>('bolt8.json');

function key(priv: string): StaticKey {
  const privateKey = hex(priv);
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}

/**
 * Runs one Appendix A vector: an `input` step feeds the act to the reader; an `output` step either
 * checks the act we write, the keys we end with, or that the preceding input failed.
 */
function run(v: HandshakeVector): void {
  const ls = key(v.keys['ls.priv']!);
  assert.equal(ls.publicKey.toString('hex'), v.keys['ls.pub']);
  const ephemeral = hex(v.keys['e.priv']!);
  assert.equal(secp.publicKey(ephemeral).toString('hex'), v.keys['e.pub']);
  const hs =
    v.role === 'initiator'
      ? NoiseHandshake.initiator(ls, hex(v.keys['rs.pub']!), { ephemeral })
      : NoiseHandshake.responder(ls, { ephemeral });
  let inputError: unknown;
  for (const step of v.steps) {
    if (step.dir === 'input') {
      const input = hex(step.hex!);
      try {
        if (v.role === 'initiator') hs.readActTwo(input);
        else if (step.act === 1) hs.readActOne(input);
        else hs.readActThree(input);
      } catch (err) {
        inputError = err;
      }
    } else if (step.error) {
      assert.ok(inputError instanceof TransportError, `${v.name}: expected "${step.error}", got ${String(inputError)}`);
      assert.equal(hs.step, 'failed');
      return;
    } else if (step.keys) {
      assert.equal(inputError, undefined);
      assert.equal(hs.result.sk.toString('hex'), step.keys.sk, `${v.name}: sk`);
      assert.equal(hs.result.rk.toString('hex'), step.keys.rk, `${v.name}: rk`);
    } else {
      assert.equal(inputError, undefined);
      const out = v.role === 'responder' ? hs.actTwo() : step.act === 1 ? hs.actOne() : hs.actThree();
      assert.equal(out.toString('hex'), step.hex, `${v.name}: act ${step.act}`);
    }
  }
  assert.equal(hs.step, 'done', `${v.name}: handshake should be complete`);
}

describe('BOLT 8 Appendix A handshake vectors', () => {
  for (const v of vectors.handshakes) it(v.name, () => run(v));

  it('has every Appendix A case (5 initiator, 10 responder)', () => {
    assert.equal(vectors.handshakes.filter((v) => v.role === 'initiator').length, 5);
    assert.equal(vectors.handshakes.filter((v) => v.role === 'responder').length, 10);
  });
});

describe('BOLT 8 Appendix A message encryption', () => {
  it('encrypts "hello" 1002 times with rotation, matching messages 0, 1, 500, 501, 1000, 1001', () => {
    const initiator = vectors.handshakes.find((v) => v.name === 'transport-initiator successful handshake')!;
    const hs = NoiseHandshake.initiator(key(initiator.keys['ls.priv']!), hex(initiator.keys['rs.pub']!), {
      ephemeral: hex(initiator.keys['e.priv']!),
    });
    hs.actOne();
    hs.readActTwo(hex(initiator.steps[1]!.hex!));
    hs.actThree();
    assert.equal(hs.result.ck.toString('hex'), vectors.message.ck);
    assert.equal(hs.result.sk.toString('hex'), vectors.message.sk);
    const cipher = hs.result.cipher;
    const hello = Buffer.from('hello');
    const seen = new Set<string>();
    for (let i = 0; i <= 1001; i++) {
      const frame = cipher.encrypt(hello).toString('hex');
      const want = vectors.message.outputs[String(i)];
      if (want !== undefined) {
        assert.equal(frame, want, `message ${i}`);
        seen.add(String(i));
      }
    }
    assert.deepEqual([...seen].sort(), Object.keys(vectors.message.outputs).sort());
  });

  it('a responder built from the vector keys decrypts those messages', () => {
    const responder = vectors.handshakes.find((v) => v.name === 'transport-responder successful handshake')!;
    const hs = NoiseHandshake.responder(key(responder.keys['ls.priv']!), { ephemeral: hex(responder.keys['e.priv']!) });
    hs.readActOne(hex(responder.steps[0]!.hex!));
    hs.actTwo();
    hs.readActThree(hex(responder.steps[2]!.hex!));
    const cipher = hs.result.cipher;
    // Re-derive the initiator's frames and feed them to the responder.
    const initiator = vectors.handshakes.find((v) => v.name === 'transport-initiator successful handshake')!;
    const ihs = NoiseHandshake.initiator(key(initiator.keys['ls.priv']!), hex(initiator.keys['rs.pub']!), {
      ephemeral: hex(initiator.keys['e.priv']!),
    });
    ihs.actOne();
    ihs.readActTwo(hex(initiator.steps[1]!.hex!));
    ihs.actThree();
    for (let i = 0; i <= 1001; i++) {
      const frame = ihs.result.cipher.encrypt(Buffer.from(`hello ${i}`));
      const len = cipher.decryptHeader(frame.subarray(0, 18));
      assert.equal(cipher.decryptBody(frame.subarray(18, 18 + len + 16)).toString(), `hello ${i}`);
    }
  });
});

describe('BOLT 8 message vectors on each AEAD path (JavaScript, node:crypto, and across)', () => {
  const paths: Array<[string, number, number]> = [
    ['JavaScript sends, node:crypto receives', MAX_MESSAGE_LENGTH, -1],
    ['node:crypto sends, JavaScript receives', -1, MAX_MESSAGE_LENGTH],
  ];
  for (const [name, sendMax, recvMax] of paths) {
    it(`${name}: messages 0, 1, 500, 501, 1000, 1001, then every size up to 65,535 across rotations`, () => {
      const { ck, sk } = vectors.message;
      const tx = new TransportCipher(new CipherState(hex(sk), hex(ck), sendMax), new CipherState(hex(sk), hex(ck), sendMax));
      const rx = new TransportCipher(new CipherState(hex(sk), hex(ck), recvMax), new CipherState(hex(sk), hex(ck), recvMax));
      for (let i = 0; i <= 1001; i++) {
        const frame = tx.encrypt(Buffer.from('hello'));
        const want = vectors.message.outputs[String(i)];
        if (want !== undefined) assert.equal(frame.toString('hex'), want, `message ${i}`);
        assert.equal(rx.decryptBody(frame.subarray(18, 18 + rx.decryptHeader(frame.subarray(0, 18)) + 16)).toString(), 'hello');
      }
      // 1,200 more messages (two more rotations) of sizes on both sides of JS_AEAD_MAX and the largest.
      for (let i = 0; i < 1200; i++) {
        const n = i === 600 ? MAX_MESSAGE_LENGTH : (i * 37) % (2 * JS_AEAD_MAX + 3);
        const msg = Buffer.alloc(n, i & 0xff);
        const frame = tx.encrypt(msg);
        const len = rx.decryptHeader(frame.subarray(0, 18));
        assert.deepEqual(rx.decryptBody(frame.subarray(18, 18 + len + 16)), msg);
      }
    });
  }
});

describe('handshake state machine', () => {
  it('rejects calls out of order and stays failed after an error', () => {
    const a = key('11'.repeat(32));
    const b = key('21'.repeat(32));
    const init = NoiseHandshake.initiator(a, b.publicKey);
    assert.throws(() => init.actThree(), /not allowed/);
    const resp = NoiseHandshake.responder(b);
    assert.throws(() => resp.actTwo(), /not allowed/);
    const act1 = init.actOne();
    const bad = Buffer.from(act1);
    bad[49]! ^= 1;
    assert.throws(() => resp.readActOne(bad), (e: unknown) => e instanceof TransportError && e.code === 'BAD_MAC');
    assert.throws(() => resp.readActOne(act1), /not allowed in state failed/);
  });

  it('completes with random keys in both roles and agrees on keys', () => {
    const a = key('31'.repeat(32));
    const b = key('41'.repeat(32));
    const init = NoiseHandshake.initiator(a, b.publicKey);
    const resp = NoiseHandshake.responder(b);
    resp.readActOne(init.actOne());
    init.readActTwo(resp.actTwo());
    resp.readActThree(init.actThree());
    assert.deepEqual(resp.result.remoteStatic, a.publicKey);
    assert.deepEqual(init.result.remoteStatic, b.publicKey);
    assert.deepEqual(init.result.sk, resp.result.rk);
    assert.deepEqual(init.result.rk, resp.result.sk);
  });
});
