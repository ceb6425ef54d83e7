/**
 * Test side of the tower: a hand-driven wtwire client over a real BOLT 8 connection (any message,
 * including ones no sane client sends), and a tower on 127.0.0.1 with a real SQLite file.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { secp } from '../../../src/crypto/secp256k1.js';
import { NoiseSocket } from '../../../src/transport/connection.js';
import type { StaticKey } from '../../../src/transport/noise.js';
import { decodeMessage, encodeMessage, CHAIN_HASHES, type WtMessage } from '../../../src/watchtower/wire/index.js';
import { openTowerStore, type SqliteTowerStore } from '../../../src/store/tower.js';
import { WatchtowerServer, type WatchtowerServerOptions } from '../../../src/watchtower/server/server.js';
import { testLogger } from '../../harness/daemon.js';
import { withTimeout } from '../../harness/wait.js';

export const CHAIN = CHAIN_HASHES.regtest;
export const TOWER_KEY: StaticKey = keyFrom(Buffer.alloc(32, 0x77));

export function keyFrom(privateKey: Buffer): StaticKey {
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}

export function randomKey(): StaticKey {
  for (;;) {
    const k = randomBytes(32);
    try {
      return keyFrom(k);
    } catch {
      /* out of range: draw again */
    }
  }
}

/** A hint that names (session, seq), so tests can check what the tower stored. */
export function hintFor(sessionKey: StaticKey, seq: number): Buffer {
  const h = Buffer.alloc(16);
  sessionKey.publicKey.copy(h, 0, 1, 13);
  h.writeUInt32BE(seq, 12);
  return h;
}

export function blobFor(seq: number, size = 314): Buffer {
  const b = Buffer.alloc(size, seq & 0xff);
  if (size >= 2) b.writeUInt16BE(seq & 0xffff, 0);
  return b;
}

export class WtClient {
  readonly received: WtMessage[] = [];
  #waiters: ((m: WtMessage | undefined) => void)[] = [];
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(readonly conn: NoiseSocket) {
    conn.on('message', (raw) => {
      const m = decodeMessage(raw);
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.received.push(m);
    });
    this.closed = new Promise((r) =>
      conn.once('close', () => {
        this.#closed = true;
        for (const w of this.#waiters.splice(0)) w(undefined);
        r();
      }),
    );
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** BOLT 8 handshake with the session key; nothing wtwire sent yet. */
  static async dial(port: number, key: StaticKey, tower: Buffer = TOWER_KEY.publicKey): Promise<WtClient> {
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const conn = new NoiseSocket(socket, { localKey: key, remoteKey: tower });
    await conn.handshake();
    const c = new WtClient(conn);
    conn.startReading();
    return c;
  }

  /** Dial, send Init (bit 0 by default), and read the tower's Init. */
  static async open(port: number, key: StaticKey, features: number[] = [0], tower: Buffer = TOWER_KEY.publicKey): Promise<WtClient> {
    const c = await WtClient.dial(port, key, tower);
    c.send({ type: 600, features, chainHash: CHAIN });
    const init = await c.next();
    if (init?.type !== 600) throw new Error(`client: expected the tower's init, got ${init ? init.type : 'close'}`);
    return c;
  }

  send(m: WtMessage): void {
    this.conn.send(encodeMessage(m));
  }

  sendRaw(b: Buffer): void {
    this.conn.send(b);
  }

  /** The next message, or undefined if the connection closed first. */
  next(timeoutMs = 10_000): Promise<WtMessage | undefined> {
    const m = this.received.shift();
    if (m) return Promise.resolve(m);
    if (this.#closed) return Promise.resolve(undefined);
    let done!: (v: WtMessage | undefined) => void;
    const got = new Promise<WtMessage | undefined>((resolve) => this.#waiters.push((done = resolve)));
    return withTimeout(got, timeoutMs, 'client: a message').finally(() => {
      this.#waiters = this.#waiters.filter((w) => w !== done);
    });
  }

  async request(m: WtMessage): Promise<WtMessage | undefined> {
    this.send(m);
    return this.next();
  }

  close(): void {
    this.conn.destroy();
  }
}

export function createSessionMsg(over: Partial<Extract<WtMessage, { type: 602 }>> = {}): WtMessage {
  return { type: 602, blobType: 0x0002, maxUpdates: 1024, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n, ...over };
}

export function stateUpdateMsg(key: StaticKey, seqNum: number, lastApplied: number, isComplete = 0, blob?: Buffer): WtMessage {
  return { type: 604, seqNum, lastApplied, isComplete, hint: hintFor(key, seqNum), encryptedBlob: blob ?? blobFor(seqNum) };
}

/** Opens a session with the given CreateSession fields; asserts OK. */
export async function createSession(
  port: number,
  key: StaticKey,
  over: Partial<Extract<WtMessage, { type: 602 }>> = {},
  tower: Buffer = TOWER_KEY.publicKey,
): Promise<WtMessage> {
  const c = await WtClient.open(port, key, [0], tower);
  const r = await c.request(createSessionMsg(over));
  await c.closed;
  if (r?.type !== 603) throw new Error('client: no create_session_reply');
  return r;
}

export interface TestTower {
  server: WatchtowerServer;
  store: SqliteTowerStore;
  port: number;
  dir: string;
  dbPath: string;
  /** Stops the server and closes the store (the files stay). */
  stop(): Promise<void>;
  /** Stop, then start again on the same database and port. */
  restart(): Promise<void>;
  /** Stop and remove the files. */
  close(): Promise<void>;
}

export async function startTower(over: Partial<WatchtowerServerOptions> = {}, dir?: string): Promise<TestTower> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'anode-tower-'));
  const dbPath = join(d, 'watchtower.sqlite3');
  const t: TestTower = {
    server: new WatchtowerServer(),
    store: await openTowerStore(dbPath),
    port: 0,
    dir: d,
    dbPath,
    async stop() {
      await t.server.stop();
      await t.store.close();
    },
    async restart() {
      await t.stop();
      t.store = await openTowerStore(dbPath);
      t.server = new WatchtowerServer();
      await t.server.start(opts(t.port));
    },
    async close() {
      await t.stop();
      rmSync(d, { recursive: true, force: true });
    },
  };
  const opts = (port: number): WatchtowerServerOptions => ({
    listen: [{ host: '127.0.0.1', port }],
    towerKey: TOWER_KEY,
    chainHash: CHAIN,
    store: t.store,
    log: testLogger(),
    ...over,
  });
  await t.server.start(opts(0));
  t.port = t.server.bound[0]!.port;
  return t;
}
