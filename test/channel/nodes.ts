/**
 * What channel tests ask of a whole node in the test process (started by the harness's `startNode`):
 * its one channel.
 */
import type { Channel } from '../../src/channel/channel.js';
import type { TestNode } from '../harness/daemon.js';

export function onlyChannel(n: TestNode): Channel {
  const l = n.channels.list();
  if (l.length !== 1) throw new Error(`expected one channel, have ${l.length}`);
  return l[0]!;
}
