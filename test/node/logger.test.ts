import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, LogBook, logControl } from '../../src/node/logger.js';
import { sleep } from '../harness/wait.js';

function capture(prettyOutput: boolean): { out: () => string; log: ReturnType<typeof createLogger> } {
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (c: Buffer) => (text += c.toString()));
  const log = createLogger('info', { pretty: prettyOutput, destination: sink });
  return { out: () => text, log };
}

describe('logger', () => {
  it('writes JSON lines when not on a terminal, honouring the level', async () => {
    const { out, log } = capture(false);
    log.debug('hidden');
    log.info({ peer: '02ab' }, 'peer connected');
    await new Promise((r) => setImmediate(r));
    const lines = out().trim().split('\n');
    assert.equal(lines.length, 1);
    const obj = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(obj.msg, 'peer connected');
    assert.equal(obj.peer, '02ab');
    assert.equal(obj.level, 30);
  });

  it('writes human-readable lines on a terminal', async () => {
    const { out, log } = capture(true);
    log.warn({ peer: '02ab' }, 'peer sent warning');
    await sleep(50);
    const text = out();
    assert.match(text, /WARN/);
    assert.match(text, /peer sent warning/);
    assert.throws(() => JSON.parse(text.trim()));
  });
});

/** A strict check that a JSON line names each key once (JSON.parse silently keeps the last). */
function keysOnce(line: string): void {
  const top = [...line.matchAll(/[{,]"([^"]+)":/g)].map((m) => m[1]!);
  assert.deepEqual(top, [...new Set(top)], `a key repeats in ${line}`);
}

describe('logger: one key per line, the log book, the printed level', () => {
  it('a child never repeats a key of its parent: the same value is kept once, a new value replaces it', async () => {
    const { out, log } = capture(false);
    log.child({ component: 'lookout' }).child({ component: 'lookout' }).info('scan');
    log.child({ component: 'chain' }).child({ component: 'wallet', extra: 1 }).child({ extra: 1 }).info('moved');
    await new Promise((r) => setImmediate(r));
    const lines = out().trim().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) keysOnce(l);
    assert.equal((JSON.parse(lines[0]!) as { component: string }).component, 'lookout');
    const second = JSON.parse(lines[1]!) as { component: string; extra: number };
    assert.deepEqual([second.component, second.extra], ['wallet', 1]);
  });

  it('the book keeps debug entries the printed level hides; the printed level changes live', async () => {
    const { out, log } = capture(false);
    const control = logControl(log)!;
    const peer = `02${'ab'.repeat(32)}`;
    log.child({ component: 'peer' }).child({ peer }).debug({ bytes: 3 }, 'ping sent');
    log.child({ component: 'chain' }).warn('backend unreachable');
    log.info('started');
    await new Promise((r) => setImmediate(r));
    assert.equal(out().trim().split('\n').length, 2, 'debug not printed at info');
    assert.deepEqual(control.book.list('debug').map((e) => e.type), ['DEBUG', 'UNUSUAL', 'INFO']);
    assert.deepEqual(control.book.list('info').map((e) => e.type), ['SKIPPED', 'UNUSUAL', 'INFO']);
    const forPeer = control.book.list('debug', peer);
    assert.equal(forPeer.length, 2);
    assert.deepEqual(forPeer[0], { ...forPeer[0], type: 'DEBUG', node_id: peer, source: 'peer', log: 'ping sent {"bytes":3}' });
    assert.deepEqual(forPeer[1], { type: 'SKIPPED', num_skipped: 2 });
    assert.match((forPeer[0] as { time: string }).time, /^\d+\.\d{9}$/);
    control.printLevel = 'debug';
    log.debug('now shown');
    await new Promise((r) => setImmediate(r));
    assert.match(out(), /now shown/);
  });

  it('the book drops its oldest entries beyond bytesMax and counts them as skipped', () => {
    const book = new LogBook(100);
    for (let i = 0; i < 10; i++) book.add(JSON.stringify({ level: 30, msg: `entry number ${i} ....` }), 30);
    assert.ok(book.bytesUsed <= 100, `${book.bytesUsed}`);
    const items = book.list('info');
    assert.equal(items[0]!.type, 'SKIPPED');
    const kept = items.length - 1;
    assert.deepEqual(items[0], { type: 'SKIPPED', num_skipped: 10 - kept });
    assert.equal((items.at(-1) as { log: string }).log, 'entry number 9 ....');
  });
});

describe('logger: secrets', () => {
  it("the configuration logged at start carries neither the backend's password nor the command line", async () => {
    const { out, log } = capture(false);
    logControl(log)!.printLevel = 'debug';
    log.debug({ config: { network: 'regtest', chain: { user: 'u', password: 'hunter2' }, argv: ['--bitcoin-rpcpassword=hunter2'] } }, 'configuration');
    await new Promise((r) => setImmediate(r));
    assert.doesNotMatch(out(), /hunter2/);
    assert.doesNotMatch(JSON.stringify(logControl(log)!.book.list('debug')), /hunter2/);
    assert.match(out(), /"user":"u"/);
  });
});
