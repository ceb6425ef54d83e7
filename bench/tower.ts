/**
 * Benchmark: the tower's server side, each figure next to a reference measured in the same run.
 *
 * 1. State updates acknowledged per second with durable commits (real TCP + BOLT 8 client, real tower,
 *    SQLite file with WAL + synchronous=FULL): one session sequential, and 100 sessions concurrent (group
 *    commit). Reference: raw better-sqlite3 INSERT + COMMIT of one 314-byte row per transaction in the
 *    same directory — the floor a one-fsync-per-update design cannot beat.
 * 2. Bytes stored per update: page_count × page_size / updates after filling N updates (WAL checkpointed).
 * 3. Lookout query: one 4,000-hint batch (a block's transactions; a few real hits) against N stored
 *    hints, through TowerStore.findByHints; reference: the same look-ups as raw prepared point queries.
 *
 * Standalone: `node dist/bench/tower.js [--hints 1000000,10000000] [--rounds N]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { secp } from '../src/crypto/secp256k1.js';
import { NoiseSocket } from '../src/transport/connection.js';
import type { StaticKey } from '../src/transport/noise.js';
import { openTowerStore, type SqliteTowerStore } from '../src/store/tower.js';
import { WatchtowerServer } from '../src/watchtower/server/server.js';
import { CHAIN_HASHES, decodeMessage, encodeMessage, type WtMessage } from '../src/watchtower/wire/index.js';
import { compare, fmt, fmtInt, fmtPct, median, table, type Comparison, type Op, type RunOptions } from './harness.js';
import { connect } from 'node:net';
import { once } from 'node:events';

const CHAIN = CHAIN_HASHES.regtest;

function randomKey(): StaticKey {
  for (;;) {
    try {
      const privateKey = randomBytes(32);
      return { privateKey, publicKey: secp.publicKey(privateKey) };
    } catch {
      /* again */
    }
  }
}

/** Minimal LND-like client: one connection, request/reply. */
class Client {
  #waiter: { resolve: (m: WtMessage) => void; reject: (e: Error) => void } | undefined;
  constructor(readonly conn: NoiseSocket) {
    conn.on('message', (raw) => {
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.resolve(decodeMessage(raw));
    });
    conn.on('close', () => this.#waiter?.reject(new Error('bench: tower closed the connection')));
  }
  static async open(port: number, key: StaticKey, tower: Buffer): Promise<Client> {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    await once(s, 'connect');
    const conn = new NoiseSocket(s, { localKey: key, remoteKey: tower });
    await conn.handshake();
    const c = new Client(conn);
    conn.startReading();
    await c.request({ type: 600, features: [0], chainHash: CHAIN });
    return c;
  }
  request(m: WtMessage): Promise<WtMessage> {
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.conn.send(encodeMessage(m));
    });
  }
  close(): void {
    this.conn.destroy();
  }
}

/** A session that keeps one connection open and uploads updates on demand, rolling to a fresh session when full. */
export class Uploader {
  #key = randomKey();
  #seq = 0;
  #client: Client | undefined;
  readonly blob = randomBytes(314);
  constructor(
    private readonly port: number,
    private readonly tower: Buffer,
    private readonly maxUpdates = 65535,
  ) {}

  async #fresh(): Promise<void> {
    this.#client?.close();
    this.#key = randomKey();
    this.#seq = 0;
    const c = await Client.open(this.port, this.#key, this.tower);
    const r = await c.request({ type: 602, blobType: 2, maxUpdates: this.maxUpdates, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n });
    if (r.type !== 603 || r.code !== 0) throw new Error('bench: create session failed');
    c.close();
    this.#client = await Client.open(this.port, this.#key, this.tower);
  }

  async upload(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      if (!this.#client || this.#seq >= this.maxUpdates) await this.#fresh();
      const seq = this.#seq + 1;
      const r = await this.#client!.request({ type: 604, seqNum: seq, lastApplied: this.#seq, isComplete: 0, hint: randomBytes(16), encryptedBlob: this.blob });
      if (r.type !== 605 || r.code !== 0) throw new Error(`bench: update refused (${JSON.stringify(r)})`);
      this.#seq = seq;
    }
  }

  close(): void {
    this.#client?.close();
  }
}

/** Raw floor: one 314-byte row per transaction, WAL + synchronous=FULL, same filesystem. */
export function rawCommitOp(dir: string): { op: Op; close(): void } {
  const db = new BetterSqlite3(join(dir, 'raw.sqlite3'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, hint BLOB NOT NULL, blob BLOB NOT NULL)');
  const ins = db.prepare('INSERT INTO t (hint, blob) VALUES (?, ?)');
  const blob = randomBytes(314);
  return {
    op: {
      name: 'raw SQLite INSERT+COMMIT (sync=FULL)',
      run(n) {
        for (let i = 0; i < n; i++) ins.run(randomBytes(16), blob);
      },
    },
    close: () => db.close(),
  };
}

export interface TowerBenchResult {
  sequential: Comparison;
  concurrent: Comparison;
  /** Average updates per transaction in the concurrent run. */
  updatesPerCommit: number;
  lookups: LookupRow[];
}

export interface LookupRow {
  stored: number;
  fillSeconds: number;
  bytesPerUpdate: number;
  fileBytes: number;
  /** Milliseconds per 4,000-hint batch. */
  candidateMs: number;
  referenceMs: number;
  hits: number;
}

/** Fills the tower schema with `n` updates (raw inserts in big transactions: this is setup, not the figure). */
async function fillStore(path: string, n: number, progress: (s: string) => void): Promise<{ store: SqliteTowerStore; known: Buffer[]; seconds: number }> {
  const store = await openTowerStore(path);
  const t0 = performance.now();
  const sessions = Math.ceil(n / 1000);
  const ids: number[] = [];
  const insS = store.sqlite.prepare(
    "INSERT INTO tower_sessions (id, blob_type, max_updates, reward_base, reward_rate, sweep_fee_rate, last_applied, client_last_applied, reward_script, created_at) VALUES (?, 2, 1024, 0, 0, '2500', 1000, 999, x'', 0)",
  );
  store.sqlite.transaction(() => {
    for (let s = 0; s < sessions; s++) ids.push(Number(insS.run(randomKey().publicKey).lastInsertRowid));
  })();
  const insU = store.sqlite.prepare('INSERT INTO tower_updates (id, hint, blob) VALUES (?, ?, ?)');
  const blob = randomBytes(314);
  const known: Buffer[] = [];
  const CHUNK = 50_000;
  for (let done = 0; done < n; ) {
    const end = Math.min(n, done + CHUNK);
    store.sqlite.transaction(() => {
      for (let i = done; i < end; i++) {
        const hint = randomBytes(16);
        if (i % Math.max(1, Math.floor(n / 10)) === 0) known.push(hint);
        insU.run(ids[Math.floor(i / 1000)]! * 65536 + (i % 1000) + 1, hint, blob);
      }
    })();
    done = end;
    if (done % 1_000_000 === 0) progress(`tower: filled ${fmtInt(done)} / ${fmtInt(n)} updates`);
  }
  store.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  return { store, known, seconds: (performance.now() - t0) / 1000 };
}

async function benchLookup(dir: string, n: number, rounds: number, progress: (s: string) => void): Promise<LookupRow> {
  const path = join(dir, `hints-${n}.sqlite3`);
  const { store, known, seconds } = await fillStore(path, n, progress);
  try {
    const pageCount = store.sqlite.pragma('page_count', { simple: true }) as number;
    const pageSize = store.sqlite.pragma('page_size', { simple: true }) as number;
    const point = store.sqlite.prepare('SELECT u.id, u.hint, u.blob, s.id AS sid FROM tower_updates u JOIN tower_sessions s ON s.sid = (u.id >> 16) WHERE substr(u.hint, 1, 8) = ?');
    const batch = (): Buffer[] => {
      const b: Buffer[] = Array.from({ length: 4000 }, () => randomBytes(16) as Buffer);
      for (let i = 0; i < Math.min(10, known.length); i++) b[i * 397] = known[i]!;
      return b;
    };
    // Warm the cache once (a running tower has its index hot), then alternate candidate and reference.
    await store.findByHints(batch());
    const cand: number[] = [];
    const ref: number[] = [];
    let hits = 0;
    for (let r = 0; r < rounds; r++) {
      const b1 = batch();
      const t0 = performance.now();
      hits = (await store.findByHints(b1)).length;
      cand.push(performance.now() - t0);
      const b2 = batch();
      const t1 = performance.now();
      let refHits = 0;
      for (const h of b2) for (const row of point.all(h.subarray(0, 8)) as { hint: Uint8Array }[]) if (Buffer.from(row.hint).equals(h)) refHits++;
      ref.push(performance.now() - t1);
      if (refHits !== hits) throw new Error(`bench: look-up mismatch ${refHits} vs ${hits}`);
    }
    return {
      stored: n,
      fillSeconds: seconds,
      bytesPerUpdate: (pageCount * pageSize) / n,
      fileBytes: statSync(path).size,
      candidateMs: median(cand),
      referenceMs: median(ref),
      hits,
    };
  } finally {
    await store.close();
    rmSync(path, { force: true });
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
  }
}

export async function benchTower(opts: RunOptions & { hints?: number[]; progress?: (s: string) => void }): Promise<TowerBenchResult> {
  const progress = opts.progress ?? ((s: string) => process.stderr.write(`[bench] ${s}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-tower-'));
  const store = await openTowerStore(join(dir, 'watchtower.sqlite3'));
  const towerKey = randomKey();
  const server = new WatchtowerServer();
  await server.start({ listen: [{ host: '127.0.0.1', port: 0 }], towerKey, chainHash: CHAIN, store, log: pino({ level: 'silent' }) });
  const port = server.bound[0]!.port;
  const raw = rawCommitOp(dir);
  try {
    progress('tower: 1 session, sequential updates');
    const one = new Uploader(port, towerKey.publicKey);
    const sequential = await compare({ name: 'tower: 1 session, sequential', run: (n) => one.upload(n) }, raw.op, opts);
    one.close();

    progress('tower: 100 sessions, concurrent updates');
    const many = Array.from({ length: 100 }, () => new Uploader(port, towerKey.publicKey));
    const before = { ...store.commits };
    const concurrent = await compare(
      {
        name: 'tower: 100 sessions, concurrent',
        run: (n) => Promise.all(many.map((u, i) => u.upload(Math.floor(n / 100) + (i < n % 100 ? 1 : 0)))).then(() => undefined),
      },
      raw.op,
      opts,
    );
    const updatesPerCommit = (store.commits.writes - before.writes) / Math.max(1, store.commits.transactions - before.transactions);
    many.forEach((u) => u.close());

    const lookups: LookupRow[] = [];
    for (const n of opts.hints ?? [1_000_000]) {
      progress(`tower: hint look-ups against ${fmtInt(n)} stored updates`);
      lookups.push(await benchLookup(dir, n, Math.max(5, opts.rounds), progress));
    }
    return { sequential, concurrent, updatesPerCommit, lookups };
  } finally {
    raw.close();
    await server.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printTower(r: TowerBenchResult): string[] {
  const out: string[] = [];
  out.push('## Watchtower server: durable state updates (WAL + synchronous=FULL; real TCP + BOLT 8 client)');
  out.push('');
  const row = (c: Comparison['candidate']): string[] => [c.name, fmtInt(c.median), fmtPct(c.iqrPct), String(c.batch)];
  out.push(
    table(
      ['', 'updates/s', 'IQR', 'batch'],
      [row(r.sequential.candidate), row(r.sequential.reference), row(r.concurrent.candidate), row(r.concurrent.reference)],
    ),
  );
  out.push('');
  out.push(`ratio 1 session / raw commit: ${fmt(r.sequential.ratio)} (IQR ${fmtPct(r.sequential.ratioIqrPct)})`);
  out.push(`ratio 100 sessions / raw commit: ${fmt(r.concurrent.ratio)} (IQR ${fmtPct(r.concurrent.ratioIqrPct)}); ${fmt(r.updatesPerCommit, 1)} updates per commit on average`);
  out.push('');
  out.push('## Watchtower server: storage and the lookout query (one 4,000-hint batch, 10 real hits; cache warm)');
  out.push('');
  out.push(
    table(
      ['stored updates', 'bytes/update', 'file', 'findByHints ms', 'raw point queries ms', 'ratio', 'fill s'],
      r.lookups.map((l) => [
        fmtInt(l.stored),
        fmt(l.bytesPerUpdate, 1),
        `${fmt(l.fileBytes / 2 ** 20, 0)} MiB`,
        fmt(l.candidateMs, 1),
        fmt(l.referenceMs, 1),
        fmt(l.referenceMs / l.candidateMs),
        fmt(l.fillSeconds, 0),
      ]),
    ),
  );
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const get = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const hints = (get('--hints') ?? '1000000').split(',').map(Number);
  const rounds = Number(get('--rounds') ?? 7);
  const r = await benchTower({ rounds, batchMs: 300, warmupMs: 200, hints });
  process.stdout.write(printTower(r).join('\n') + '\n');
}
