/**
 * Benchmark: the watchtower client (issue 6), each figure next to a reference measured in the same run.
 *
 * 1. Backups acknowledged per second, one client → one tower over loopback, durable on both sides: the
 *    real WatchtowerClient (SQLite WAL + synchronous=FULL via openSqliteStore) against the real
 *    WatchtowerServer (its own SQLite file, same settings) over BOLT 8 on 127.0.0.1. One op = one
 *    `backupState` (durable queue row; awaited, as the channel layer does after each revoke_and_ack) up to
 *    the tower's ack applied in the client's database. Includes signing the justice transaction (legacy:
 *    two ECDSA signatures), encryption, commit-before-send, the tower's durable commit and the ack
 *    transaction, and a new session every 1,024 updates (default max-updates). References, interleaved in
 *    the same rounds: (a) the tower alone ingesting the same number of 314-byte updates over one
 *    connection from a minimal wtwire client (sessions of 1,024 as well) — what the tower side costs;
 *    (b) one raw better-sqlite3 INSERT + COMMIT (synchronous=FULL) — one durable transaction; (c) the
 *    client's CPU floor: signJusticeTx + encryptJusticeKit of the same breach data, in memory, no I/O.
 * 2. Start-up with 10,000 exhausted sessions and 100 towers (plus 1,000 channels and 30,000
 *    session↔channel rows) in the database (LND issue #7121: minutes). Timed: openSqliteStore (migrations
 *    check) + createWatchtowerClient + start(); also start → stop (the workers' first round). Goal: under
 *    1 s. Reference: opening the same file with better-sqlite3 and reading wtc_towers and wtc_sessions once.
 *    Also timed once on the started client: ListTowers with and without sessions.
 *
 * Standalone: `node dist/bench/wtclient.js [--rounds N]`.
 */
import { rawCommitOp, Uploader } from './tower.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { KeyChain } from '../src/crypto/keychain.js';
import { secp } from '../src/crypto/secp256k1.js';
import { openSqliteStore, type Store } from '../src/store/database.js';
import type { WtClientRepository } from '../src/store/wtclient.js';
import type { StaticKey } from '../src/transport/noise.js';
import { breachKey } from '../src/watchtower/blob/derivation.js';
import { encryptJusticeKit } from '../src/watchtower/blob/blob.js';
import { signJusticeTx } from '../src/watchtower/justice/justice-tx.js';
import { createWatchtowerClient, type BreachData, type WatchtowerClient } from '../src/watchtower/client/index.js';
import { openTowerStore, type SqliteTowerStore } from '../src/store/tower.js';
import { WatchtowerServer } from '../src/watchtower/server/server.js';
import { CHAIN_HASHES } from '../src/watchtower/wire/index.js';
import { calibrate, fmt, fmtInt, fmtPct, iqrPct, median, stats, table, timeOnce, type Op, type RunOptions, type Stats } from './harness.js';

const CHAIN = CHAIN_HASHES.regtest;
const silent = pino({ level: 'silent' });

export const GOAL_STARTUP_MS = 1000;

function randomKey(): StaticKey {
  for (;;) {
    try {
      const privateKey = randomBytes(32);
      return { privateKey, publicKey: secp.publicKey(privateKey) };
    } catch {
      /* out of range: draw again */
    }
  }
}

// ---- 1. backups acknowledged per second -----------------------------------------------------------

/** Counts acks applied by the client (a pass-through of the real repository: no polling needed). */
class AckCounter {
  acked = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  wrap(repo: WtClientRepository): WtClientRepository {
    return new Proxy(repo, {
      get: (target, prop) => {
        if (prop === 'ackUpdate') {
          return async (...args: Parameters<WtClientRepository['ackUpdate']>) => {
            const r = await target.ackUpdate(...args);
            if (r.kind === 'acked') {
              this.acked++;
              this.#waiters = this.#waiters.filter((w) => (w.n <= this.acked ? (w.resolve(), false) : true));
            }
            return r;
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  until(n: number): Promise<void> {
    if (this.acked >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}

/** Revoked states of one legacy channel: fixed keys (signing cost is the same), a fresh txid each. */
class Breaches {
  readonly #rev = randomKey();
  readonly #delay = randomKey();
  readonly #remote = randomKey();
  readonly #sweep = Buffer.concat([Buffer.from([0x00, 0x14]), randomBytes(20)]);
  next(): BreachData {
    return {
      commitment: 'legacy',
      breachTxid: randomBytes(32),
      revocationPubKey: this.#rev.publicKey,
      localDelayPubKey: this.#delay.publicKey,
      csvDelay: 144,
      toLocal: { index: 0, amountSat: 200_000n, revocationPrivKey: this.#rev.privateKey },
      toRemote: { index: 1, amountSat: 100_000n, pubKey: this.#remote.publicKey, privKey: this.#remote.privateKey },
      sweepScript: this.#sweep,
    };
  }
}

export interface ThroughputResult {
  client: Stats;
  towerOnly: Stats;
  raw: Stats;
  sign: Stats;
  /** Per round: client / tower-only, client / raw, client / sign+encrypt. */
  ratioTower: number[];
  ratioSign: number[];
  ratioRaw: number[];
  acked: number;
  sessions: number;
  towerUpdates: number;
}

async function benchThroughput(opts: RunOptions & { progress: (s: string) => void }): Promise<ThroughputResult> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-wtclient-'));
  const towerStore: SqliteTowerStore = await openTowerStore(join(dir, 'watchtower.sqlite3'));
  const towerKey = randomKey();
  const server = new WatchtowerServer();
  await server.start({ listen: [{ host: '127.0.0.1', port: 0 }], towerKey, chainHash: CHAIN, store: towerStore, log: silent });
  const port = server.bound[0]!.port;
  const store: Store = await openSqliteStore(join(dir, 'anode.sqlite3'));
  const acks = new AckCounter();
  const client: WatchtowerClient = createWatchtowerClient({
    store: acks.wrap(store.wtclient),
    keychain: new KeyChain(randomBytes(32), 'regtest'),
    chainHash: CHAIN,
    log: silent,
    tuning: { commitmentTypes: ['legacy'] },
  });
  await client.start();
  await client.addTower(towerKey.publicKey, { host: '127.0.0.1', port });
  const maxUpdates = (await client.policy('LEGACY')).maxUpdates;
  const breaches = new Breaches();
  const chan = randomBytes(32);
  let height = 0;
  let queued = 0;
  const clientOp: Op = {
    name: 'client: backupState → tower ack (durable both sides)',
    async run(n) {
      for (let i = 0; i < n; i++) {
        if (!(await client.backupState(chan, ++height, breaches.next()))) throw new Error('bench: backupState refused');
      }
      queued += n;
      await acks.until(queued);
    },
  };
  const towerOnly = new Uploader(port, towerKey.publicKey, maxUpdates);
  const towerOp: Op = { name: 'tower alone: StateUpdate from a wtwire client', run: (n) => towerOnly.upload(n) };
  const raw = rawCommitOp(dir);
  const signOp: Op = {
    name: 'CPU floor: sign justice tx + encrypt kit, no I/O',
    run(n) {
      for (let i = 0; i < n; i++) {
        const b = breaches.next();
        const { kit } = signJusticeTx({ policy: { blobType: 0x0002, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n }, breach: b, sweepScript: b.sweepScript });
        encryptJusticeKit(kit, breachKey(b.breachTxid));
      }
    },
  };
  try {
    // Correctness first: one backup reaches the tower and is acked.
    const before = (await towerStore.counts()).updates;
    await clientOp.run(1);
    if ((await towerStore.counts()).updates !== before + 1) throw new Error('bench: the tower did not store the backup');

    const ops = [clientOp, towerOp, raw.op, signOp];
    // Each op issues its operations sequentially, so a larger batch only costs time: aim for ~3× the usual.
    const batchMs = Math.max(opts.batchMs * 3, 300);
    opts.progress('wtclient: warm-up and calibration');
    for (const op of ops) await timeOnce(op, 20);
    const sizes: number[] = [];
    for (const op of ops) sizes.push(await calibrate(op, batchMs));
    const rates: number[][] = ops.map(() => []);
    for (let r = 0; r < opts.rounds; r++) {
      opts.progress(`wtclient: round ${r + 1}/${opts.rounds}`);
      // Rotate who goes first.
      for (let k = 0; k < ops.length; k++) {
        const j = (k + r) % ops.length;
        rates[j]!.push(sizes[j]! / (await timeOnce(ops[j]!, sizes[j]!)));
      }
    }
    const sessions = (await store.wtclient.listSessions()).length;
    return {
      client: stats(clientOp.name, sizes[0]!, rates[0]!),
      towerOnly: stats(towerOp.name, sizes[1]!, rates[1]!),
      raw: stats(raw.op.name, sizes[2]!, rates[2]!),
      sign: stats(signOp.name, sizes[3]!, rates[3]!),
      ratioSign: rates[0]!.map((c, i) => c / rates[3]![i]!),
      ratioTower: rates[0]!.map((c, i) => c / rates[1]![i]!),
      ratioRaw: rates[0]!.map((c, i) => c / rates[2]![i]!),
      acked: acks.acked,
      sessions,
      towerUpdates: (await towerStore.counts()).updates,
    };
  } finally {
    towerOnly.close();
    raw.close();
    await client.stop();
    await store.close();
    await server.stop();
    await towerStore.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 2. start-up with 10,000 exhausted sessions ----------------------------------------------------

export interface StartupResult {
  towers: number;
  sessions: number;
  channels: number;
  links: number;
  fileMiB: number;
  fillSeconds: number;
  /** Per round, milliseconds. */
  openMs: number[];
  startMs: number[];
  firstRoundMs: number[];
  referenceMs: number[];
  listTowersMs: number;
  listTowersSessionsMs: number;
  /** Sessions ListTowers reported (sanity). */
  listedSessions: number;
}

const BLOB_TYPES = [0x0002, 0x0006, 0x000a, 0x001a];

async function populate(path: string, towers: number, sessions: number, channels: number, linksPerSession: number): Promise<void> {
  // Schema through the real migrations, rows through SQL (setup, not the figure).
  const s = await openSqliteStore(path);
  await s.close();
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  const now = Date.now();
  const insT = db.prepare('INSERT INTO wtc_towers (pubkey, addresses, status, created_at) VALUES (?, ?, 0, ?)');
  const insS = db.prepare(
    'INSERT INTO wtc_sessions (id, tower_id, key_index, blob_type, max_updates, reward_base, reward_rate, sweep_fee_rate, reward_script, seq_num, tower_last_applied, status, num_acked, closable_height, created_at) ' +
      "VALUES (?, ?, ?, ?, 1024, 0, 0, 2500, x'', 1024, 1024, 0, 1024, NULL, ?)",
  );
  const insC = db.prepare('INSERT INTO wtc_channels (channel_id, max_height, closed_height) VALUES (?, ?, NULL)');
  const insL = db.prepare('INSERT INTO wtc_session_channels (session_id, channel_id, num_acked) VALUES (?, ?, ?)');
  db.transaction(() => {
    const tids: number[] = [];
    for (let i = 0; i < towers; i++) {
      tids.push(Number(insT.run(randomKey().publicKey, JSON.stringify([`10.0.${i >> 8}.${i & 255}:9911`]), now + i).lastInsertRowid));
    }
    const chans = Array.from({ length: channels }, () => randomBytes(32));
    chans.forEach((c) => insC.run(c, sessions * 10));
    for (let i = 0; i < sessions; i++) {
      const id = Buffer.concat([Buffer.from([0x02]), randomBytes(32)]);
      insS.run(id, tids[i % towers]!, i + 1, BLOB_TYPES[i % BLOB_TYPES.length]!, now + i);
      for (let k = 0; k < linksPerSession; k++) insL.run(id, chans[(i * linksPerSession + k) % channels]!, Math.floor(1024 / linksPerSession));
    }
    db.prepare("INSERT INTO wtc_meta (name, value) VALUES ('key_index', ?)").run(sessions);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function benchStartup(rounds: number, progress: (s: string) => void): Promise<StartupResult> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-wtclient-start-'));
  const path = join(dir, 'anode.sqlite3');
  const [towers, sessions, channels, links] = [100, 10_000, 1_000, 3];
  try {
    progress(`wtclient: populating ${fmtInt(sessions)} exhausted sessions, ${towers} towers`);
    const t0 = performance.now();
    await populate(path, towers, sessions, channels, links);
    const fillSeconds = (performance.now() - t0) / 1000;
    const keychain = new KeyChain(randomBytes(32), 'regtest');

    const candidate = async (): Promise<{ open: number; start: number; first: number }> => {
      const a = performance.now();
      const store = await openSqliteStore(path);
      const b = performance.now();
      const client = createWatchtowerClient({ store: store.wtclient, keychain, chainHash: CHAIN, log: silent });
      await client.start();
      const c = performance.now();
      await client.stop();
      const d = performance.now();
      await store.close();
      return { open: b - a, start: c - b, first: d - b };
    };
    const reference = (): number => {
      const a = performance.now();
      const db = new BetterSqlite3(path);
      db.pragma('journal_mode = WAL');
      const t = db.prepare('SELECT * FROM wtc_towers').all();
      const s = db.prepare('SELECT * FROM wtc_sessions').all();
      if (t.length !== towers || s.length !== sessions) throw new Error('bench: reference read the wrong row counts');
      db.close();
      return performance.now() - a;
    };

    // Warm (the page cache, the JIT) once each, untimed.
    await candidate();
    reference();
    const openMs: number[] = [];
    const startMs: number[] = [];
    const firstRoundMs: number[] = [];
    const referenceMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const run = async (): Promise<void> => {
        const x = await candidate();
        openMs.push(x.open);
        startMs.push(x.start);
        firstRoundMs.push(x.first);
      };
      if (r % 2 === 0) {
        await run();
        referenceMs.push(reference());
      } else {
        referenceMs.push(reference());
        await run();
      }
    }

    // ListTowers once on a started client (lncli wtclient towers after start-up).
    const store = await openSqliteStore(path);
    const client = createWatchtowerClient({ store: store.wtclient, keychain, chainHash: CHAIN, log: silent });
    await client.start();
    let p = performance.now();
    await client.listTowers({ includeSessions: false, excludeExhaustedSessions: false });
    const listTowersMs = performance.now() - p;
    p = performance.now();
    const listed = await client.listTowers({ includeSessions: true, excludeExhaustedSessions: false });
    const listTowersSessionsMs = performance.now() - p;
    const listedSessions = listed.reduce((a, t) => a + t.sessionInfo.reduce((b, i) => b + i.sessions.length, 0), 0);
    await client.stop();
    await store.close();
    const db = new BetterSqlite3(path, { readonly: true });
    const fileMiB = ((db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number)) / 2 ** 20;
    db.close();
    return { towers, sessions, channels, links: sessions * links, fileMiB, fillSeconds, openMs, startMs, firstRoundMs, referenceMs, listTowersMs, listTowersSessionsMs, listedSessions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- entry points ----------------------------------------------------------------------------------

export interface WtClientBenchResult {
  throughput: ThroughputResult;
  startup: StartupResult;
}

export async function benchWtClient(opts: RunOptions & { progress?: (s: string) => void }): Promise<WtClientBenchResult> {
  const progress = opts.progress ?? ((s: string) => process.stderr.write(`[bench] ${s}\n`));
  const throughput = await benchThroughput({ ...opts, progress });
  const startup = await benchStartup(Math.max(5, opts.rounds), progress);
  return { throughput, startup };
}

export function printWtClient(r: WtClientBenchResult): string[] {
  const out: string[] = [];
  const t = r.throughput;
  out.push('## Watchtower client: backups acknowledged per second, one client → one tower over loopback (BOLT 8; both SQLite WAL + synchronous=FULL)');
  out.push('');
  const row = (s: Stats): string[] => [s.name, fmtInt(s.median), fmtPct(s.iqrPct), String(s.batch)];
  out.push(table(['', 'per second', 'IQR', 'batch'], [row(t.client), row(t.towerOnly), row(t.raw), row(t.sign)]));
  out.push('');
  out.push(`ratio client / tower alone: ${fmt(median(t.ratioTower))} (IQR ${fmtPct(iqrPct(t.ratioTower))}; rounds ${t.ratioTower.map((x) => fmt(x)).join(' ')})`);
  out.push(`ratio client / CPU floor (signing + encryption alone): ${fmt(median(t.ratioSign))} (IQR ${fmtPct(iqrPct(t.ratioSign))})`);
  out.push(`ratio client / one raw durable commit: ${fmt(median(t.ratioRaw))} (IQR ${fmtPct(iqrPct(t.ratioRaw))})`);
  out.push(
    `client: ${fmtInt(t.acked)} backups acked in ${t.sessions} session(s) of 1,024 (default max-updates); the tower holds ${fmtInt(t.towerUpdates)} updates (client's + reference's)`,
  );
  out.push('');
  const s = r.startup;
  out.push(
    `## Watchtower client: start-up with ${fmtInt(s.sessions)} exhausted sessions, ${s.towers} towers, ${fmtInt(s.channels)} channels, ${fmtInt(s.links)} session↔channel rows (${fmt(s.fileMiB, 1)} MiB; page cache warm; ${s.openMs.length} rounds, medians)`,
  );
  out.push('');
  const total = s.openMs.map((o, i) => o + s.startMs[i]!);
  out.push(
    table(
      ['', 'ms', 'IQR'],
      [
        ['openSqliteStore (open + migrations check)', fmt(median(s.openMs), 1), fmtPct(iqrPct(s.openMs))],
        ['createWatchtowerClient + start()', fmt(median(s.startMs), 1), fmtPct(iqrPct(s.startMs))],
        ['open + start (the figure)', fmt(median(total), 1), fmtPct(iqrPct(total))],
        ['start → stop (incl. the workers’ first round)', fmt(median(s.firstRoundMs), 1), fmtPct(iqrPct(s.firstRoundMs))],
        ['reference: open + read wtc_towers, wtc_sessions once', fmt(median(s.referenceMs), 1), fmtPct(iqrPct(s.referenceMs))],
        ['ListTowers (once, started client)', fmt(s.listTowersMs, 1), ''],
        [`ListTowers --include_sessions (once; ${fmtInt(s.listedSessions)} sessions)`, fmt(s.listTowersSessionsMs, 1), ''],
      ],
    ),
  );
  out.push('');
  const m = median(total);
  out.push(`open + start / reference: ${fmt(m / median(s.referenceMs))}×; goal open + start < ${GOAL_STARTUP_MS} ms: ${m < GOAL_STARTUP_MS ? 'MET' : 'NOT MET'}`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--rounds');
  const rounds = i >= 0 ? Number(args[i + 1]) : 7;
  const r = await benchWtClient({ rounds, batchMs: 100, warmupMs: 300 });
  process.stdout.write(printWtClient(r).join('\n') + '\n');
}
