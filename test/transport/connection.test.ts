import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { secp } from '../../src/crypto/secp256k1.js';
import { NoiseSocket } from '../../src/transport/connection.js';
import { TransportError } from '../../src/transport/errors.js';
import { NoiseHandshake, type StaticKey } from '../../src/transport/noise.js';

function key(fill: number): StaticKey {
  const privateKey = Buffer.alloc(32, fill);
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}
const serverKey = key(0x21);
const clientKey = key(0x11);

/** A TCP server on 127.0.0.1 whose accepted sockets are handed to `onSocket`. */
async function listen(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

async function dial(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

/** A connected pair of NoiseSockets after a real handshake over loopback. */
async function pair(opts: { actTimeoutMs?: number; maxOutboundBuffer?: number } = {}): Promise<{ a: NoiseSocket; b: NoiseSocket; close: () => void }> {
  let accepted!: (n: NoiseSocket) => void;
  const got = new Promise<NoiseSocket>((r) => (accepted = r));
  const { server, port } = await listen((s) => accepted(new NoiseSocket(s, { localKey: serverKey, ...opts })));
  const a = new NoiseSocket(await dial(port), { localKey: clientKey, remoteKey: serverKey.publicKey, ...opts });
  const b = await got;
  const [ra, rb] = await Promise.all([a.handshake(), b.handshake()]);
  assert.deepEqual(ra, serverKey.publicKey);
  assert.deepEqual(rb, clientKey.publicKey);
  return { a, b, close: () => (a.destroy(), b.destroy(), server.close()) };
}

function collect(s: NoiseSocket, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    s.on('message', (m) => {
      got.push(m);
      if (got.length === n) resolve(got);
    });
    s.on('close', (err) => reject(err ?? new Error('closed early')));
    s.startReading();
  });
}

/** After send() said wait: 'drain' follows, and every one of the `sent` messages arrives. */
async function drainsAndDelivers(a: NoiseSocket, b: NoiseSocket, sent: number): Promise<void> {
  const drained = once(a, 'drain');
  const got = collect(b, sent);
  await drained;
  assert.equal((await got).length, sent);
}

describe('NoiseSocket over loopback TCP', () => {
  it('full duplex: 1500 messages each way, interleaved, across key rotations', async () => {
    const { a, b, close } = await pair();
    const N = 1500;
    const gotA = collect(a, N);
    const gotB = collect(b, N);
    for (let i = 0; i < N; i++) {
      // Interleave directions and sizes, including empty and maximum-size messages.
      const size = i % 250 === 0 ? 65535 : i % 7;
      a.send(Buffer.alloc(size, i & 0xff));
      b.send(Buffer.from(`from b ${i}`));
    }
    const [fromB, fromA] = await Promise.all([gotA, gotB]);
    for (let i = 0; i < N; i++) {
      assert.equal(fromB[i]!.toString(), `from b ${i}`);
      const size = i % 250 === 0 ? 65535 : i % 7;
      assert.equal(fromA[i]!.length, size);
      if (size) assert.equal(fromA[i]![0], i & 0xff);
    }
    close();
  });

  it('reassembles frames delivered one byte at a time', async () => {
    // Server side is a NoiseSocket; client side runs the handshake by hand and dribbles bytes.
    let accepted!: (n: NoiseSocket) => void;
    const got = new Promise<NoiseSocket>((r) => (accepted = r));
    const { server, port } = await listen((s) => accepted(new NoiseSocket(s, { localKey: serverKey })));
    const raw = await dial(port);
    const hs = NoiseHandshake.initiator(clientKey, serverKey.publicKey);
    const writeSlowly = async (buf: Buffer): Promise<void> => {
      for (const byte of buf) {
        raw.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
    };
    const b = await got;
    const handshake = b.handshake();
    await writeSlowly(hs.actOne());
    const [act2] = (await once(raw, 'data')) as [Buffer];
    hs.readActTwo(act2);
    await writeSlowly(hs.actThree());
    assert.deepEqual(await handshake, clientKey.publicKey);
    const msgs = collect(b, 3);
    await writeSlowly(Buffer.concat([hs.result.cipher.encrypt(Buffer.from('one')), hs.result.cipher.encrypt(Buffer.from('two')), hs.result.cipher.encrypt(Buffer.alloc(0))]));
    assert.deepEqual((await msgs).map((m) => m.toString()), ['one', 'two', '']);
    raw.destroy();
    b.destroy();
    server.close();
  });

  it('cuts off a peer whose frame header announces more than the limit', async () => {
    let accepted!: (n: NoiseSocket) => void;
    const got = new Promise<NoiseSocket>((r) => (accepted = r));
    const { server, port } = await listen((s) => accepted(new NoiseSocket(s, { localKey: serverKey, maxMessageLength: 1000 })));
    const a = new NoiseSocket(await dial(port), { localKey: clientKey, remoteKey: serverKey.publicKey });
    const b = await got;
    await Promise.all([a.handshake(), b.handshake()]);
    b.startReading();
    const closed = once(b, 'close');
    a.send(Buffer.alloc(1001));
    const [err] = (await closed) as [TransportError];
    assert.equal(err.code, 'TOO_LARGE');
    a.destroy();
    server.close();
  });

  it('cuts off a peer that sends a bad MAC', async () => {
    const { a, b, close } = await pair();
    b.startReading();
    const closed = once(b, 'close');
    a.socket.write(Buffer.alloc(18, 0xaa));
    const [err] = (await closed) as [TransportError];
    assert.equal(err.code, 'BAD_MAC');
    close();
  });

  it('times out a handshake that stalls after act one', async () => {
    let accepted!: (n: NoiseSocket) => void;
    const got = new Promise<NoiseSocket>((r) => (accepted = r));
    const { server, port } = await listen((s) => accepted(new NoiseSocket(s, { localKey: serverKey, actTimeoutMs: 200 })));
    const raw = await dial(port);
    raw.write(NoiseHandshake.initiator(clientKey, serverKey.publicKey).actOne());
    const b = await got;
    const t0 = Date.now();
    await assert.rejects(b.handshake(), (e: unknown) => e instanceof TransportError && e.code === 'TIMEOUT' && /act three/.test(e.message));
    assert.ok(Date.now() - t0 < 2000);
    raw.destroy();
    server.close();
  });

  it('cuts off a peer that does not read once its outbound buffer exceeds the limit', async () => {
    const { a, b, close } = await pair({ maxOutboundBuffer: 256 * 1024 });
    b.socket.pause(); // b never reads: the kernel buffers fill, then a's queue grows
    const closed = once(a, 'close');
    const big = Buffer.alloc(60_000);
    for (let i = 0; i < 200 && !a.closed; i++) {
      a.send(big);
      await new Promise((r) => setImmediate(r));
    }
    const [err] = (await closed) as [TransportError];
    assert.equal(err.code, 'BUFFER_FULL');
    close();
  });

  it('send() reports backpressure and drain follows', async () => {
    const { a, b, close } = await pair();
    try {
      // The kernel may take megabytes of a loopback burst before anything queues in the socket (more so
      // on a loaded machine): send until send() asks us to wait, bounded at 64 MiB.
      let sent = 0;
      let sawFalse = false;
      while (!sawFalse && sent < 1024) {
        sawFalse = !a.send(Buffer.alloc(65535));
        sent++;
      }
      assert.ok(sawFalse, `a ${sent}-message burst (${sent * 64} KiB) should exceed the socket high-water mark`);
      await drainsAndDelivers(a, b, sent);
    } finally {
      close();
    }
  });

  it('frames sent in one tick go out in one socket write, in order, small and large mixed', async () => {
    const { a, b, close } = await pair();
    try {
      let writes = 0;
      const write = a.socket.write.bind(a.socket) as (chunk: Buffer) => boolean;
      a.socket.write = ((chunk: Buffer) => {
        writes++;
        return write(chunk);
      }) as typeof a.socket.write;
      const sizes = [...Array.from({ length: 300 }, (_, i) => i % 200), 5000, 1, 2, 3];
      const got = collect(b, sizes.length);
      for (const [i, n] of sizes.entries()) a.send(Buffer.alloc(n, i & 0xff));
      await new Promise((r) => setImmediate(r));
      // 300 small frames (≈ 37 KiB, one 64 KiB chunk) before the large message: one write; the large
      // message: three (header, body, tag) in the same cork; the three after it: one more write.
      assert.equal(writes, 1 + 3 + 1);
      const msgs = await got;
      for (const [i, n] of sizes.entries()) assert.deepEqual(msgs[i], Buffer.alloc(n, i & 0xff), `message ${i}`);
    } finally {
      close();
    }
  });

  it('small messages: send() reports backpressure once 256 KiB wait in one tick, and drain follows', async () => {
    const { a, b, close } = await pair();
    try {
      let sent = 0;
      while (a.send(Buffer.alloc(1000)) && sent < 10_000) sent++;
      sent++;
      assert.ok(sent < 300, `backpressure after ${sent} messages of 1000 B`);
      await drainsAndDelivers(a, b, sent);
    } finally {
      close();
    }
  });
});
