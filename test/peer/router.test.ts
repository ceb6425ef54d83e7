/**
 * The message router on a fake peer manager: which handler gets which message, what BOLT 1 says for
 * messages nobody handles, and when watchers hear of a peer.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { PeerManager } from '../../src/peer/manager.js';
import type { Peer } from '../../src/peer/peer.js';
import { EARLY_MESSAGE_LIMIT, MessageRouter } from '../../src/peer/router.js';
import { MessageType, type Message } from '../../src/wire/messages.js';

const log = pino({ level: 'silent' });

class FakePeer extends EventEmitter {
  readonly warnings: string[] = [];
  closedWith: string | undefined;
  connected = true;
  constructor(readonly id: string) {
    super();
  }
  sendWarning(text: string): void {
    this.warnings.push(text);
  }
  close(reason: string): Promise<string> {
    this.closedWith = reason;
    this.connected = false;
    this.emit('close', reason);
    return Promise.resolve(reason);
  }
}

class FakePeers extends EventEmitter {
  readonly live: FakePeer[] = [];
  list(): FakePeer[] {
    return this.live;
  }
}

const unknown = (type: number): Message => ({ type, unknown: true, payload: Buffer.alloc(0) });

function setup(): { peers: FakePeers; router: MessageRouter; peer: FakePeer; connect(p: FakePeer): void } {
  const peers = new FakePeers();
  const router = new MessageRouter(peers as unknown as PeerManager, log);
  return { peers, router, peer: new FakePeer('aa'), connect: (p) => peers.emit('connected', p as unknown as Peer) };
}

describe('message router', () => {
  test('routes by exact type first, then by the range registered last, in arrival order', () => {
    const { router, peer, connect } = setup();
    const got: string[] = [];
    router.handle({ from: 100, to: 199 }, (_, m) => got.push(`wide ${m.type}`));
    router.handle({ from: 150, to: 159 }, (_, m) => got.push(`narrow ${m.type}`));
    router.handle(155, (_, m) => got.push(`exact ${m.type}`));
    router.start();
    connect(peer);
    for (const t of [101, 151, 155, 199]) peer.emit('message', unknown(t));
    assert.deepEqual(got, ['wide 101', 'narrow 151', 'exact 155', 'wide 199']);
    assert.throws(() => router.handle(155, () => undefined), /router: type 155 already has a handler/);
  });

  test('unhandled: an unknown even type is a protocol violation, an odd one and a known message are ignored', () => {
    const { router, peer, connect } = setup();
    router.start();
    connect(peer);
    peer.emit('message', unknown(32769));
    peer.emit('message', { type: MessageType.ERROR, channelId: Buffer.alloc(32), data: Buffer.from('x') });
    assert.deepEqual(peer.warnings, []);
    assert.equal(peer.closedWith, undefined);
    peer.emit('message', unknown(32768));
    assert.deepEqual(peer.warnings, ['unknown even message 32768']);
    assert.equal(peer.closedWith, 'unknown even message 32768');
  });

  test('gossip (256–259) is ignored until a handler registers for it', () => {
    const { router, peer, connect } = setup();
    router.start();
    connect(peer);
    peer.emit('message', unknown(256));
    assert.deepEqual(peer.warnings, []);
    const got: number[] = [];
    router.handle({ from: 256, to: 259 }, (_, m) => got.push(m.type));
    peer.emit('message', unknown(258));
    assert.deepEqual(got, [258]);
  });

  test('watchers hear of each peer once, after its messages are routed; start() attaches to peers already connected', () => {
    const { peers, router, peer, connect } = setup();
    const early = new FakePeer('bb');
    peers.live.push(early);
    const events: string[] = [];
    router.watch({
      connected: (p) => events.push(`up ${p.id} listeners=${(p as unknown as FakePeer).listenerCount('message')}`),
      disconnected: (p) => events.push(`down ${p.id}`),
    });
    router.start();
    router.start();
    connect(peer);
    connect(peer);
    peers.emit('disconnected', peer, 'gone');
    assert.deepEqual(events, ['up bb listeners=1', 'up aa listeners=1', 'down aa']);
  });

  test('a peer connected before start(): its messages wait for the handlers, in order, and are not refused', () => {
    const { peers, router, peer, connect } = setup();
    const got: string[] = [];
    const events: string[] = [];
    // channel_reestablish (136) and a later update: a restarted node's dial answered before its router ran.
    router.handle({ from: 32, to: 255 }, (p, m) => got.push(`${p.id} ${m.type}`));
    router.watch({ connected: (p) => events.push(`up ${p.id} listeners=${(p as unknown as FakePeer).listenerCount('message')}`), disconnected: () => undefined });
    peers.live.push(peer);
    connect(peer);
    peer.emit('message', unknown(136));
    peer.emit('message', unknown(130));
    assert.deepEqual([got, peer.warnings, peer.closedWith], [[], [], undefined], 'nothing handled, nothing refused before start');
    router.start();
    assert.deepEqual(events, ['up aa listeners=1'], 'the watcher hears of the peer before its first message');
    assert.deepEqual(got, ['aa 136', 'aa 130']);
    peer.emit('message', unknown(132));
    assert.deepEqual(got, ['aa 136', 'aa 130', 'aa 132'], 'then live, once each');
    assert.equal(peer.closedWith, undefined);
  });

  test('an early peer that goes away is forgotten; one that floods before start() is dropped', () => {
    const { peers, router, connect } = setup();
    const got: string[] = [];
    router.handle({ from: 32, to: 255 }, (p, m) => got.push(`${p.id} ${m.type}`));
    const gone = new FakePeer('bb');
    connect(gone);
    gone.emit('message', unknown(136));
    void gone.close('connection closed by peer');
    const flood = new FakePeer('cc');
    peers.live.push(flood);
    connect(flood);
    for (let i = 0; i <= EARLY_MESSAGE_LIMIT; i++) flood.emit('message', unknown(136));
    assert.equal(flood.closedWith, `more than ${EARLY_MESSAGE_LIMIT} messages before the node was ready`);
    assert.equal(flood.listenerCount('message'), 0, 'nothing held any more');
    router.start();
    assert.deepEqual(got, []);
  });
});
