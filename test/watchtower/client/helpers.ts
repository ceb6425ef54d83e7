/**
 * Test side of the watchtower client: breach data that signs, a client on a real SQLite file, a
 * scriptable fake tower (for misbehaviour the real one never shows).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { secp } from '../../../src/crypto/secp256k1.js';
import { KeyChain } from '../../../src/crypto/keychain.js';
import { openSqliteStore, type Store } from '../../../src/store/database.js';
import { NoiseSocket } from '../../../src/transport/connection.js';
import type { CommitmentType } from '../../../src/watchtower/blob/type.js';
import { createWatchtowerClient, type BreachData, type WatchtowerClient } from '../../../src/watchtower/client/index.js';
import { decodeMessage, encodeMessage, type WtMessage } from '../../../src/watchtower/wire/index.js';
import { testLogger } from '../../harness/daemon.js';
import { CHAIN, keyFrom, TOWER_KEY } from '../server/client.js';
import type { StaticKey } from '../../../src/transport/noise.js';

export const FAKE_TOWER_KEY: StaticKey = keyFrom(Buffer.alloc(32, 0x78));
export const TOWER_B_KEY: StaticKey = keyFrom(Buffer.alloc(32, 0x79));

export const SEED = Buffer.alloc(32, 0x42);

export function keychain(): KeyChain {
  return new KeyChain(SEED, 'regtest');
}

function priv(label: string): Buffer {
  for (let i = 0; ; i++) {
    const k = createHash('sha256').update(`${label}/${i}`).digest();
    if (secp.isPrivateKey(k)) return k;
  }
}

/** A revoked state of channel `chan` at `height`, deterministic, both outputs, P2WPKH sweep. */
export function breachFor(chan: number, height: number, commitment: CommitmentType = 'legacy'): BreachData {
  const rev = priv(`rev/${chan}/${height}`);
  const remote = priv(`remote/${chan}`);
  return {
    commitment,
    breachTxid: createHash('sha256').update(`txid/${chan}/${height}`).digest(),
    revocationPubKey: secp.publicKey(rev),
    localDelayPubKey: secp.publicKey(priv(`delay/${chan}/${height}`)),
    csvDelay: 144,
    toLocal: { index: 0, amountSat: 200_000n, revocationPrivKey: rev },
    toRemote: { index: 1, amountSat: 100_000n, pubKey: secp.publicKey(remote), privKey: remote },
    sweepScript: Buffer.concat([Buffer.from([0x00, 0x14]), createHash('sha256').update(`sweep/${chan}`).digest().subarray(0, 20)]),
  };
}

export function channelId(chan: number): Buffer {
  return createHash('sha256').update(`chan/${chan}`).digest();
}

export interface TestClient {
  client: WatchtowerClient;
  store: Store;
  dbPath: string;
  close(): Promise<void>;
}

export const FAST = { backoff: { minMs: 50, maxMs: 400 }, timeoutMs: 3000 };

export async function startClient(dbPath: string, over: Partial<Parameters<typeof createWatchtowerClient>[0]> = {}): Promise<TestClient> {
  const store = await openSqliteStore(dbPath);
  const client = createWatchtowerClient({
    store: store.wtclient,
    keychain: keychain(),
    chainHash: CHAIN,
    log: testLogger(),
    ...over,
    tuning: { ...FAST, ...over.tuning },
  });
  await client.start();
  return {
    client,
    store,
    dbPath,
    async close() {
      await client.stop();
      await store.close();
    },
  };
}

export const towerUri = (port: number, key: StaticKey = TOWER_KEY): { pubkey: Buffer; address: { host: string; port: number } } => ({
  pubkey: key.publicKey,
  address: { host: '127.0.0.1', port },
});

/** How the fake tower answers. */
export interface FakeTowerBehaviour {
  /** CreateSession reply code (default OK), 'hang' (read it, never answer) or 'close' (hang up, no reply). */
  createCode?: number | 'hang' | 'close';
  /**
   * StateUpdate: 'ok' (ack), 'close' (hang up without a reply), or a reply code; or a function of the
   * update and of how many updates this connection carried before it (a tower closing mid-stream).
   */
  update?: 'ok' | 'close' | number | ((m: Extract<WtMessage, { type: 604 }>, onConn: number) => 'ok' | 'close' | number);
  /** DeleteSession reply code (default OK). */
  deleteCode?: number;
}

/** A tower on 127.0.0.1 with the test tower key that answers as told and records what it saw. */
export class FakeTower {
  readonly server: Server;
  readonly seen: WtMessage[] = [];
  readonly sockets = new Set<Socket>();
  behaviour: FakeTowerBehaviour = {};
  port = 0;

  constructor(
    behaviour: FakeTowerBehaviour = {},
    readonly key: StaticKey = FAKE_TOWER_KEY,
  ) {
    this.behaviour = behaviour;
    this.server = createServer((socket) => this.#serve(socket));
  }

  async start(port = 0): Promise<void> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  count(type: number): number {
    return this.seen.filter((m) => m.type === type).length;
  }

  #serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const noise = new NoiseSocket(socket, { localKey: this.key });
    let onConn = 0;
    noise.handshake().then(
      () => {
        noise.on('message', (raw) => {
          let m: WtMessage;
          try {
            m = decodeMessage(raw);
          } catch {
            noise.destroy();
            return;
          }
          this.seen.push(m);
          const b = this.behaviour;
          const send = (r: WtMessage): void => {
            noise.send(encodeMessage(r));
          };
          if (m.type === 600) send({ type: 600, features: [1, 3], chainHash: CHAIN });
          else if (m.type === 602) {
            if (b.createCode === 'hang') return;
            if (b.createCode === 'close') {
              noise.destroy();
              return;
            }
            send({ type: 603, code: b.createCode ?? 0, lastApplied: 0, data: Buffer.alloc(0) });
            noise.end();
          } else if (m.type === 604) {
            const u = typeof b.update === 'function' ? b.update(m, onConn++) : (b.update ?? 'ok');
            if (u === 'close') noise.destroy();
            else if (u === 'ok') send({ type: 605, code: 0, lastApplied: m.seqNum });
            else {
              send({ type: 605, code: u, lastApplied: 0 });
              noise.end();
            }
          } else if (m.type === 606) {
            send({ type: 607, code: b.deleteCode ?? 0 });
            noise.end();
          }
        });
        noise.startReading();
      },
      () => undefined,
    );
  }
}
