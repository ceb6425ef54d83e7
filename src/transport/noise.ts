import { randomBytes } from 'node:crypto';
import { chachaOpen, chachaSeal } from '../crypto/aead.js';
import { hkdf2, sha256 } from '../crypto/hash.js';
import { secp, type Secp256k1 } from '../crypto/secp256k1.js';
import { CipherState, TransportCipher } from './cipher.js';
import { TransportError } from './errors.js';

/** BOLT 8 Noise_XK handshake as a pure state machine: bytes in, bytes out, no sockets or timers. */

export const ACT_ONE_LENGTH = 50;
export const ACT_TWO_LENGTH = 50;
export const ACT_THREE_LENGTH = 66;

const PROTOCOL_NAME = Buffer.from('Noise_XK_secp256k1_ChaChaPoly_SHA256', 'ascii');
const PROLOGUE = Buffer.from('lightning', 'ascii');
const EMPTY = Buffer.alloc(0);
const ZERO_NONCE = Buffer.alloc(12);
const ONE_NONCE = Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
/** h and ck after the protocol name and prologue are mixed in: the same for every handshake. */
const INITIAL_CK = sha256(PROTOCOL_NAME);
const INITIAL_H = sha256(INITIAL_CK, PROLOGUE);

export interface StaticKey {
  privateKey: Buffer;
  publicKey: Buffer;
}

export interface HandshakeResult {
  cipher: TransportCipher;
  /** The counterpart's static public key (its node id). */
  remoteStatic: Buffer;
  /** Final chaining key and the two transport keys, for vector tests. */
  ck: Buffer;
  sk: Buffer;
  rk: Buffer;
}

type Step = 'act1' | 'act2' | 'act3' | 'done' | 'failed';

function newEphemeral(ec: Secp256k1): Buffer {
  for (;;) {
    const k = randomBytes(32);
    if (ec.isPrivateKey(k)) return k;
  }
}

/**
 * One side of a handshake. The initiator calls actOne → readActTwo → actThree; the responder
 * readActOne → actTwo → readActThree. Any error leaves the state 'failed' and every later call throws.
 */
export class NoiseHandshake {
  readonly initiator: boolean;
  #step: Step = 'act1';
  #h: Buffer;
  #ck: Buffer = INITIAL_CK;
  #tempK2: Buffer = EMPTY;
  #remoteEphemeral: Buffer = EMPTY;
  #remoteStatic: Buffer;
  readonly #ls: StaticKey;
  readonly #ePriv: Buffer;
  readonly #ePub: Buffer;
  readonly #ec: Secp256k1;
  #result: HandshakeResult | undefined;

  private constructor(initiator: boolean, ls: StaticKey, rs: Buffer | undefined, ephemeral: Buffer | undefined, ec: Secp256k1) {
    this.initiator = initiator;
    this.#ls = ls;
    this.#ec = ec;
    this.#ePriv = ephemeral ?? newEphemeral(ec);
    this.#ePub = ec.publicKey(this.#ePriv);
    this.#remoteStatic = rs ?? EMPTY;
    // The responder's static key is known to both sides in advance (the "K" in XK).
    this.#h = sha256(INITIAL_H, initiator ? rs! : ls.publicKey);
  }

  static initiator(ls: StaticKey, remoteStatic: Buffer, opts: { ephemeral?: Buffer; ec?: Secp256k1 } = {}): NoiseHandshake {
    const ec = opts.ec ?? secp;
    if (!ec.isPublicKey(remoteStatic)) throw new TransportError('BAD_KEY', 'noise: invalid remote static key');
    return new NoiseHandshake(true, ls, remoteStatic, opts.ephemeral, ec);
  }

  static responder(ls: StaticKey, opts: { ephemeral?: Buffer; ec?: Secp256k1 } = {}): NoiseHandshake {
    return new NoiseHandshake(false, ls, undefined, opts.ephemeral, opts.ec ?? secp);
  }

  get step(): Step {
    return this.#step;
  }

  /** Bytes the next incoming act must have (0 when it is our turn to write or we are done). */
  get expectedInput(): number {
    if (this.initiator) return this.#step === 'act2' ? ACT_TWO_LENGTH : 0;
    if (this.#step === 'act1') return ACT_ONE_LENGTH;
    if (this.#step === 'act3') return ACT_THREE_LENGTH;
    return 0;
  }

  get result(): HandshakeResult {
    if (!this.#result) throw new TransportError('STATE', 'noise: handshake not complete');
    return this.#result;
  }

  #expect(initiator: boolean, step: Step, what: string): void {
    if (this.initiator !== initiator || this.#step !== step) {
      throw new TransportError('STATE', `noise: ${what} not allowed in state ${this.#step} as ${this.initiator ? 'initiator' : 'responder'}`);
    }
  }

  #fail<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.#step = 'failed';
      throw err;
    }
  }

  #mixHash(data: Uint8Array): void {
    this.#h = sha256(this.#h, data);
  }

  #mixKey(ikm: Uint8Array): Buffer {
    const [ck, k] = hkdf2(this.#ck, ikm);
    this.#ck = ck;
    return k;
  }

  /** Writes `0 ‖ e.pub ‖ tag` for acts one and two, after mixing in `dh` of our ephemeral; returns the act and the temporary key. */
  #writeEphemeralAct(dh: (ePriv: Buffer) => Buffer): { act: Buffer; key: Buffer } {
    this.#mixHash(this.#ePub);
    const key = this.#mixKey(dh(this.#ePriv));
    const c = chachaSeal(key, ZERO_NONCE, this.#h, EMPTY);
    this.#mixHash(c);
    return { act: Buffer.concat([Buffer.from([0]), this.#ePub, c]), key };
  }

  /** Reads `0 ‖ re ‖ tag` for acts one and two; returns the temporary key. */
  #readEphemeralAct(act: Uint8Array, name: string, length: number, dh: (re: Buffer) => Buffer): Buffer {
    if (act.length !== length) throw new TransportError('TRUNCATED', `noise: ${name} must be ${length} bytes, got ${act.length}`);
    if (act[0] !== 0) throw new TransportError('BAD_VERSION', `noise: ${name} has unknown version ${act[0]}`);
    const re = Buffer.from(act.subarray(1, 34));
    if (!this.#ec.isPublicKey(re)) throw new TransportError('BAD_KEY', `noise: ${name} carries an invalid ephemeral key`);
    this.#remoteEphemeral = re;
    this.#mixHash(re);
    const k = this.#mixKey(dh(re));
    const c = act.subarray(34);
    try {
      chachaOpen(k, ZERO_NONCE, this.#h, c, name);
    } catch {
      throw new TransportError('BAD_MAC', `noise: ${name} has a bad MAC`);
    }
    this.#mixHash(c);
    return k;
  }

  // ---- initiator ----

  actOne(): Buffer {
    this.#expect(true, 'act1', 'actOne');
    return this.#fail(() => {
      const { act } = this.#writeEphemeralAct((e) => this.#ec.ecdh(e, this.#remoteStatic));
      this.#step = 'act2';
      return act;
    });
  }

  readActTwo(act: Uint8Array): void {
    this.#expect(true, 'act2', 'readActTwo');
    this.#fail(() => {
      this.#tempK2 = this.#readEphemeralAct(act, 'act two', ACT_TWO_LENGTH, (re) => this.#ec.ecdh(this.#ePriv, re));
      this.#step = 'act3';
    });
  }

  actThree(): Buffer {
    this.#expect(true, 'act3', 'actThree');
    return this.#fail(() => {
      const c = chachaSeal(this.#tempK2, ONE_NONCE, this.#h, this.#ls.publicKey);
      this.#mixHash(c);
      const k3 = this.#mixKey(this.#ec.ecdh(this.#ls.privateKey, this.#remoteEphemeral));
      const t = chachaSeal(k3, ZERO_NONCE, this.#h, EMPTY);
      this.#finish(true);
      return Buffer.concat([Buffer.from([0]), c, t]);
    });
  }

  // ---- responder ----

  readActOne(act: Uint8Array): void {
    this.#expect(false, 'act1', 'readActOne');
    this.#fail(() => {
      this.#readEphemeralAct(act, 'act one', ACT_ONE_LENGTH, (re) => this.#ec.ecdh(this.#ls.privateKey, re));
      this.#step = 'act2';
    });
  }

  actTwo(): Buffer {
    this.#expect(false, 'act2', 'actTwo');
    return this.#fail(() => {
      const { act, key } = this.#writeEphemeralAct((e) => this.#ec.ecdh(e, this.#remoteEphemeral));
      this.#tempK2 = key;
      this.#step = 'act3';
      return act;
    });
  }

  readActThree(act: Uint8Array): void {
    this.#expect(false, 'act3', 'readActThree');
    this.#fail(() => {
      if (act.length !== ACT_THREE_LENGTH) {
        throw new TransportError('TRUNCATED', `noise: act three must be ${ACT_THREE_LENGTH} bytes, got ${act.length}`);
      }
      if (act[0] !== 0) throw new TransportError('BAD_VERSION', `noise: act three has unknown version ${act[0]}`);
      const c = act.subarray(1, 50);
      const t = act.subarray(50);
      let rs: Buffer;
      try {
        rs = chachaOpen(this.#tempK2, ONE_NONCE, this.#h, c, 'act three');
      } catch {
        throw new TransportError('BAD_MAC', 'noise: act three has a bad MAC on the static key');
      }
      if (!this.#ec.isPublicKey(rs)) throw new TransportError('BAD_KEY', 'noise: act three carries an invalid static key');
      this.#remoteStatic = rs;
      this.#mixHash(c);
      const k3 = this.#mixKey(this.#ec.ecdh(this.#ePriv, rs));
      try {
        chachaOpen(k3, ZERO_NONCE, this.#h, t, 'act three');
      } catch {
        throw new TransportError('BAD_MAC', 'noise: act three has a bad MAC');
      }
      this.#finish(false);
    });
  }

  #finish(initiator: boolean): void {
    const [k1, k2] = hkdf2(this.#ck, EMPTY);
    const sk = initiator ? k1 : k2;
    const rk = initiator ? k2 : k1;
    this.#result = {
      cipher: new TransportCipher(new CipherState(sk, this.#ck), new CipherState(rk, this.#ck)),
      remoteStatic: this.#remoteStatic,
      ck: this.#ck,
      sk,
      rk,
    };
    this.#step = 'done';
  }
}
