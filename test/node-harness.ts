import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { secp } from '../src/crypto/secp256k1.js';
import { DEFAULT_PEER_OPTIONS, PeerManager, type PeerManagerOptions } from '../src/peer/manager.js';
import { openSqliteStore, type Store } from '../src/store/database.js';
import { INIT_FEATURES } from '../src/node/node.js';
import { CHAIN_HASH } from '../src/wire/messages.js';
import type { StaticKey } from '../src/transport/noise.js';

export function staticKey(fill: number): StaticKey {
  const privateKey = Buffer.alloc(32, fill);
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}

/** Logs to stderr when ANODE_TEST_LOG is set (e.g. ANODE_TEST_LOG=debug), silent otherwise. */
export function testLogger(): Logger {
  const level = process.env.ANODE_TEST_LOG;
  return level ? pino({ level }, pino.destination(2)) : pino({ level: 'silent' });
}

export interface TestPeerManager {
  manager: PeerManager;
  store: Store;
  port: number;
  close(): Promise<void>;
}

/**
 * anode's real peer manager on 127.0.0.1 (ephemeral port) with a real SQLite file in a temp dir:
 * the code a user runs, minus the daemon shell.
 */
export async function startPeerManager(overrides: Partial<PeerManagerOptions> = {}): Promise<TestPeerManager> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-peer-'));
  const store = await openSqliteStore(join(dir, 'anode.sqlite3'));
  const manager = new PeerManager({
    ...DEFAULT_PEER_OPTIONS,
    localKey: staticKey(0x42),
    chainHash: CHAIN_HASH.regtest,
    features: INIT_FEATURES,
    listen: [{ host: '127.0.0.1', port: 0 }],
    peers: store.peers,
    log: testLogger(),
    ...overrides,
  });
  await manager.start();
  return {
    manager,
    store,
    port: manager.bound[0]?.port ?? 0,
    async close() {
      await manager.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
