/**
 * The process under test for the memory benchmark (started by memory.ts with --expose-gc, one fresh
 * process per measurement). It listens on 127.0.0.1, forks the dialer child, lets it connect
 * `warmup` peers and drop them (so JIT code and one-time allocations are paid before the baseline),
 * takes the baseline, lets it connect `peers` idle peers, takes the second measurement and reports
 * both to its parent over IPC.
 *
 *   mode anode: anode's real PeerManager with a SQLite store (test/harness/daemon.ts), keepalive pings
 *               pushed out to an hour so the peers stay idle;
 *   mode tcp:   a bare net.Server keeping every accepted socket (with 'data' and 'error' handlers).
 *
 * Usage: node --expose-gc dist/bench/listener.js <anode|tcp> <peers> <warmup>
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { startPeerManager } from '../test/harness/daemon.js';
import { sleep, until } from '../test/harness/wait.js';
import { command, forkDialer } from './dialer-control.js';
import type { DialerReply } from './dialer.js';

export interface MemorySample {
  rss: number;
  /** V8 heap committed (used + free space kept by V8). */
  heapTotal: number;
  heapUsed: number;
  /** Off-heap memory owned by JS objects; includes arrayBuffers. */
  external: number;
  arrayBuffers: number;
}

export interface ListenerReport {
  mode: 'anode' | 'tcp';
  peers: number;
  before: MemorySample;
  after: MemorySample;
  connectSeconds: number;
}

/** Memory after forcing full collections (several, so weak callbacks freeing external memory run). */
export async function settledMemory(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench: listener needs --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(40);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

interface Listening {
  port: number;
  nodeId?: string;
  /** Connections fully set up (anode: handshake + init done). */
  live(): number;
  /** Connections still setting up. */
  pending(): number;
  close(): Promise<void>;
}

async function listenAnode(): Promise<Listening> {
  const t = await startPeerManager({ pingIntervalMs: 3_600_000, initTimeoutMs: 120_000, handshakeTimeoutMs: 60_000 });
  return {
    port: t.port,
    nodeId: t.manager.nodeId.toString('hex'),
    live: () => t.manager.list().length,
    pending: () => t.manager.pendingHandshakes,
    close: () => t.close(),
  };
}

async function listenTcp(): Promise<Listening> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (s) => {
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    live: () => sockets.size,
    pending: () => 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2] as 'anode' | 'tcp';
  const peers = Number(process.argv[3]);
  const warmup = Number(process.argv[4]);
  if ((mode !== 'anode' && mode !== 'tcp') || !(peers > 0) || !(warmup >= 0)) {
    throw new Error('usage: listener.js <anode|tcp> <peers> <warmup>');
  }
  const l = mode === 'anode' ? await listenAnode() : await listenTcp();
  const dialer = forkDialer();
  try {
    const connect = (from: number, count: number): Promise<DialerReply> =>
      command(dialer, { cmd: 'connect', mode, port: l.port, nodeId: l.nodeId, from, count, concurrency: 32 });
    if (warmup > 0) {
      await connect(1_000_000, warmup);
      await until(() => l.live() >= warmup, { what: 'warm-up peers', timeoutMs: 60_000, intervalMs: 20 });
      await command(dialer, { cmd: 'close' });
      await until(() => l.live() === 0 && l.pending() === 0, { what: 'warm-up peers to go', timeoutMs: 60_000, intervalMs: 20 });
    }
    await sleep(200);
    const before = await settledMemory();
    const t0 = Date.now();
    await connect(0, peers);
    await until(() => l.live() >= peers && l.pending() === 0, { what: `${peers} peers`, timeoutMs: 120_000, intervalMs: 20 });
    const connectSeconds = (Date.now() - t0) / 1000;
    // Let trailing work (store writes, timers, the last init) finish before measuring.
    await sleep(500);
    const after = await settledMemory();
    const live = l.live();
    if (live !== peers) throw new Error(`bench: ${live} peers connected at measurement, expected ${peers}`);
    const report: ListenerReport = { mode, peers, before, after, connectSeconds };
    process.send!(report);
    await command(dialer, { cmd: 'close' });
  } finally {
    dialer.kill();
    await l.close();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
