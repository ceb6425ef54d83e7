/**
 * Abuse: garbage, wrong blob sizes, sequence abuse, pipelining floods, 1,000 connecting sessions and
 * slow-loris connections, each while an honest client keeps uploading. Being served is the assertion
 * for the honest client (no wall-clock bound: machines here are shared); the abusers must be cut off.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { NoiseSocket } from '../../../src/transport/connection.js';
import { encodeMessage, WtErrorCode as C } from '../../../src/watchtower/wire/index.js';
import { blobFor, CHAIN, createSession, randomKey, startTower, stateUpdateMsg, TOWER_KEY, WtClient, type TestTower } from './client.js';
import { sleep } from '../../harness/wait.js';
import type { StaticKey } from '../../../src/transport/noise.js';

const READ_TIMEOUT_MS = 800;
let tower: TestTower;

before(async () => {
  tower = await startTower({ readTimeoutMs: READ_TIMEOUT_MS, writeTimeoutMs: READ_TIMEOUT_MS, maxPendingHandshakes: 64 });
});
after(async () => tower.close());

/** An honest LND-like client: one session, `n` sequential updates, every reply must be OK. */
class Honest {
  readonly key: StaticKey = randomKey();
  acked = 0;
  async init(): Promise<this> {
    await createSession(tower.port, this.key, { maxUpdates: 65535 });
    return this;
  }
  async upload(n: number): Promise<void> {
    const c = await this.#connect();
    for (let i = 0; i < n; i++) {
      const s = this.acked + 1;
      const r = await c.request(stateUpdateMsg(this.key, s, this.acked, i === n - 1 ? 1 : 0));
      assert.deepEqual(r, { type: 605, code: C.OK, lastApplied: s });
      this.acked = s;
    }
    await c.closed;
  }

  /** Like an LND client, retry a connection that fails before the session starts (a reset under load). */
  async #connect(): Promise<WtClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await WtClient.open(tower.port, this.key);
      } catch (err) {
        if (attempt === 3) throw err;
        await sleep(200);
      }
    }
  }
}

async function rawSocket(): Promise<Socket> {
  const s = connect(tower.port, '127.0.0.1');
  s.on('error', () => {});
  // Under a flood the tower may reset a connection as soon as it is accepted: that socket is simply
  // already cut off, so settle on 'close' as well as on 'connect'.
  await new Promise<void>((resolve) => {
    s.once('connect', () => resolve());
    s.once('close', () => resolve());
  });
  return s;
}

async function noiseSocket(key: StaticKey = randomKey()): Promise<NoiseSocket> {
  const n = new NoiseSocket(await rawSocket(), { localKey: key, remoteKey: TOWER_KEY.publicKey });
  await n.handshake();
  n.startReading();
  return n;
}

/**
 * A slow client's BOLT 8 connection; under a flood the tower may already have evicted it during the
 * handshake, which counts as being cut off (the socket is returned closed).
 */
async function slowNoiseSocket(): Promise<NoiseSocket> {
  const n = new NoiseSocket(await rawSocket(), { localKey: randomKey(), remoteKey: TOWER_KEY.publicKey });
  try {
    await n.handshake();
    n.startReading();
  } catch {
    /* evicted mid-handshake */
  }
  return n;
}

const closedWithin = async (s: Socket | NoiseSocket, ms: number): Promise<boolean> => {
  const sock = s instanceof NoiseSocket ? s.socket : s;
  if (sock.destroyed || sock.closed) return true;
  // Not events.once(sock, 'close'): it rejects on 'error', and a reset (ECONNRESET) is exactly how the
  // tower may cut a slow client off.
  return Promise.race([new Promise<boolean>((r) => sock.once('close', () => r(true))), sleep(ms).then(() => false)]);
};

describe('abuse', () => {
  test('garbage before, during and after the handshake is cut off; the honest client is served', async () => {
    const honest = await new Honest().init();
    const serving = honest.upload(50);
    const abusers: Promise<boolean>[] = [];
    for (let i = 0; i < 30; i++) {
      abusers.push(
        (async () => {
          const s = await rawSocket();
          s.write(randomBytes(50 + i * 7)); // not a valid act one (version byte / key)
          return closedWithin(s, 5000);
        })(),
      );
      abusers.push(
        (async () => {
          const n = await noiseSocket();
          n.socket.write(randomBytes(100)); // raw bytes after the handshake: bad MAC
          return closedWithin(n, 5000);
        })(),
      );
      abusers.push(
        (async () => {
          const n = await noiseSocket();
          n.send(randomBytes(1 + i)); // well encrypted, not wtwire (or not Init)
          return closedWithin(n, 5000);
        })(),
      );
      abusers.push(
        (async () => {
          const n = await noiseSocket();
          n.send(encodeMessage({ type: 600, features: [0], chainHash: CHAIN }));
          n.send(Buffer.concat([Buffer.from([0x02, 0x5c]), randomBytes(30)])); // truncated StateUpdate
          return closedWithin(n, 5000);
        })(),
      );
    }
    assert.ok((await Promise.all(abusers)).every(Boolean), 'every garbage connection was closed');
    await serving;
    assert.equal(honest.acked, 50);
  });

  test('wrong blob sizes (up to 65,000 bytes) → 40 and closed; nothing stored', async () => {
    const honest = await new Honest().init();
    const serving = honest.upload(30);
    const key = randomKey();
    await createSession(tower.port, key);
    for (const size of [0, 1, 313, 315, 340, 4096, 65000]) {
      const c = await WtClient.open(tower.port, key);
      const r = await c.request(stateUpdateMsg(key, 1, 0, 0, blobFor(1, size)));
      assert.deepEqual(r, { type: 605, code: C.TemporaryFailure, lastApplied: 0 });
      await c.closed;
    }
    assert.deepEqual(await tower.store.listUpdates(key.publicKey), []);
    await serving;
  });

  test('sequence abuse: random seq/echo values never move last_applied backwards or past max', async () => {
    const honest = await new Honest().init();
    const serving = honest.upload(30);
    const key = randomKey();
    await createSession(tower.port, key, { maxUpdates: 20 });
    let la = 0;
    for (let i = 0; i < 60; i++) {
      const c = await WtClient.open(tower.port, key);
      const seq = [0, la, la + 1, la + 2, 65535, 21, Math.floor(Math.random() * 30)][i % 7]!;
      const echo = [0, la, 65535, seq, Math.max(0, la - 1)][i % 5]!;
      const r = (await c.request(stateUpdateMsg(key, seq, echo, 1))) as { code: number; lastApplied: number };
      if (r.code === C.OK) {
        assert.ok(seq === la || seq === la + 1);
        la = seq;
      }
      const s = await tower.store.getSession(key.publicKey);
      assert.equal(s?.lastApplied, la);
      assert.ok(la <= 20);
      await c.closed;
    }
    await serving;
  });

  test('pipelining flood: a client sending far ahead of the replies is cut off', async () => {
    const key = randomKey();
    await createSession(tower.port, key);
    const c = await WtClient.open(tower.port, key);
    for (let s = 1; s <= 200; s++) c.send(stateUpdateMsg(key, s, 0));
    await c.closed;
    const honest = await new Honest().init();
    await honest.upload(10);
  });

  test('1,000 sessions connecting at once: all get served, and so does the honest client', { timeout: 120_000 }, async () => {
    const honest = await new Honest().init();
    let stop = false;
    const serving = (async () => {
      while (!stop) await honest.upload(5);
    })();
    const keys = Array.from({ length: 1000 }, () => randomKey());
    let ok = 0;
    await Promise.all(
      keys.map(async (k) => {
        // An LND client backs off and retries when a connection fails.
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            const r = (await createSession(tower.port, k)) as { code: number };
            if (r.code !== C.OK) continue;
            const c = await WtClient.open(tower.port, k);
            const u = (await c.request(stateUpdateMsg(k, 1, 0, 1))) as { code: number } | undefined;
            if (u?.code === C.OK) {
              ok++;
              return;
            }
          } catch {
            await sleep(100 + Math.random() * 400);
          }
        }
      }),
    );
    stop = true;
    await serving;
    assert.equal(ok, 1000);
    assert.ok(honest.acked >= 5);
    assert.ok((await tower.store.counts()).sessions >= 1000);
  });

  test('slow-loris: silent sockets, half handshakes, trickled frames, idle sessions are all cut off', { timeout: 60_000 }, async () => {
    const honest = await new Honest().init();
    const silent = await Promise.all(Array.from({ length: 150 }, () => rawSocket()));
    const half = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const s = await rawSocket();
        s.write(Buffer.alloc(20)); // a third of act one
        return s;
      }),
    );
    const idle = await Promise.all(Array.from({ length: 50 }, () => slowNoiseSocket()));
    const trickle = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const n = await slowNoiseSocket();
        if (!n.closed) n.send(encodeMessage({ type: 600, features: [0], chainHash: CHAIN }));
        return n;
      }),
    );
    // Trickle: one byte of a valid-looking frame every 100 ms keeps the socket busy but never completes a message.
    const timers = trickle.map((n) => setInterval(() => n.closed || n.socket.write(Buffer.from([0])), 100));
    try {
      await honest.upload(20); // served while the slow ones hold their sockets
      const all = [...silent, ...half, ...idle, ...trickle];
      const closed = await Promise.all(all.map((s) => closedWithin(s, READ_TIMEOUT_MS * 4 + 2000)));
      assert.equal(closed.filter((c) => !c).length, 0, 'every slow connection was cut off');
      assert.equal(tower.server.pendingHandshakes, 0);
      await honest.upload(5);
    } finally {
      timers.forEach(clearInterval);
    }
  });
});
