/**
 * The far side of the memory benchmark, run as a child process so that its memory is not counted.
 * Controlled over IPC:
 *   { cmd: 'connect', mode: 'anode' | 'tcp', port, nodeId?, from, count, concurrency }
 *       anode: opens `count` BOLT 8 connections with distinct static keys (index from..from+count-1),
 *              sends init and waits for the listener's init on each; tcp: plain TCP connections.
 *       replies { ok: true, connected } or { ok: false, error }.
 *   { cmd: 'close' }  closes every connection, replies { ok: true }.
 *   { cmd: 'exit' }
 * The connections then stay idle: nothing is sent after init.
 */
import { connect, type Socket } from 'node:net';
import { secp } from '../src/crypto/secp256k1.js';
import { INIT_FEATURES } from '../src/node/node.js';
import { NoiseSocket } from '../src/transport/connection.js';
import { CHAIN_HASH, encodeMessage, MessageType } from '../src/wire/messages.js';

export interface ConnectCommand {
  cmd: 'connect';
  mode: 'anode' | 'tcp';
  port: number;
  /** Listener's node id, hex (anode mode). */
  nodeId?: string;
  from: number;
  count: number;
  concurrency: number;
}
export type DialerCommand = ConnectCommand | { cmd: 'close' } | { cmd: 'exit' };
export type DialerReply = { ok: true; connected?: number } | { ok: false; error: string };

const sockets = new Set<Socket>();
const INIT = encodeMessage({
  type: MessageType.INIT,
  globalFeatures: Buffer.alloc(0),
  features: INIT_FEATURES.toBytes(),
  networks: [CHAIN_HASH.regtest],
  extraTlvs: [],
});

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {
        /* reported through 'close' */
      });
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      resolve(s);
    });
    s.once('error', reject);
  });
}

function nodeKey(index: number): { privateKey: Buffer; publicKey: Buffer } {
  const privateKey = Buffer.alloc(32);
  privateKey.writeUInt32BE(0x5eed, 0);
  privateKey.writeUInt32BE(index + 1, 28);
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}

async function dialAnode(port: number, remoteKey: Buffer, index: number): Promise<void> {
  const socket = await tcp(port);
  const conn = new NoiseSocket(socket, { localKey: nodeKey(index), remoteKey, actTimeoutMs: 60_000 });
  await conn.handshake();
  const theirInit = new Promise<void>((resolve, reject) => {
    conn.once('message', () => resolve());
    conn.once('close', (err) => reject(err ?? new Error('closed before init')));
  });
  // Replies to nothing afterwards; the listener runs with a long ping interval so the link stays idle.
  conn.on('message', () => {});
  conn.startReading();
  conn.send(INIT);
  await theirInit;
}

async function run(cmd: ConnectCommand): Promise<number> {
  let next = cmd.from;
  const end = cmd.from + cmd.count;
  let connected = 0;
  const worker = async (): Promise<void> => {
    while (next < end) {
      const index = next++;
      if (cmd.mode === 'tcp') await tcp(cmd.port);
      else await dialAnode(cmd.port, Buffer.from(cmd.nodeId!, 'hex'), index);
      connected++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, cmd.count) }, worker));
  return connected;
}

async function closeAll(): Promise<void> {
  const all = [...sockets];
  await Promise.all(
    all.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed) return resolve();
          s.once('close', () => resolve());
          s.destroy();
        }),
    ),
  );
}

const reply = (r: DialerReply): void => {
  process.send!(r);
};

process.on('message', (m: DialerCommand) => {
  switch (m.cmd) {
    case 'connect':
      run(m).then(
        (connected) => reply({ ok: true, connected }),
        (err: Error) => reply({ ok: false, error: err.message }),
      );
      return;
    case 'close':
      closeAll().then(() => reply({ ok: true }));
      return;
    case 'exit':
      closeAll().then(() => process.exit(0));
      return;
  }
});
process.on('disconnect', () => process.exit(0));
