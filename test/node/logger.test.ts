import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/node/logger.js';
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
