/**
 * Whole anode nodes in the test process (real SQLite files, real TCP between them, a real btcd), for
 * channel tests that drive the ChannelManager and Channel API directly.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/node/config.js';
import { AnodeNode } from '../../src/node/node.js';
import type { Channel } from '../../src/channel/channel.js';
import type { ChannelManager } from '../../src/channel/manager.js';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import type { BtcdNode } from '../harness/btcd.js';

export interface TestNode {
  node: AnodeNode;
  dir: string;
  id: string;
  port: number;
  channels: ChannelManager;
  stop(): Promise<void>;
}

export async function startNode(btcd: BtcdNode, opts: { dir?: string; extra?: string[] } = {}): Promise<TestNode> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'anode-ch-'));
  const { config } = loadConfig([`--anode-dir=${dir}`, '--addr=127.0.0.1:0', '--rpclisten=127.0.0.1:0', '--restlisten=127.0.0.1:0', '--dev-chain-poll=100', '--funding-confirms=1', '--watchtime-blocks=6', ...btcd.anodeArgs, ...(opts.extra ?? [])]);
  const log = pino({ level: process.env.ANODE_TEST_LOG ?? 'silent' });
  const node = await AnodeNode.start(config, log);
  const port = node.peers.bound[0]!.port;
  return {
    node,
    dir,
    id: node.nodeId.toString('hex'),
    port,
    channels: node.channels!,
    stop: () => node.stop(),
  };
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends `sat` to a fresh wallet address of `n` and waits until the wallet sees it confirmed. */
export async function fundWallet(btcd: BtcdNode, n: TestNode, sat: bigint): Promise<void> {
  const { address } = await n.node.wallet!.newAddress('p2wpkh');
  await btcd.fund(addressToScript(address, btcNetwork('regtest')), sat);
  await until(async () => (await n.node.wallet!.listFunds()).some((o) => o.status === 'confirmed' && o.amountSat === sat), 'wallet funds confirmed');
}

/** Mines one block at a time until `cond` holds. */
export async function mineUntil(btcd: BtcdNode, cond: () => boolean | Promise<boolean>, what: string, maxBlocks = 20): Promise<void> {
  for (let i = 0; i < maxBlocks; i++) {
    if (await cond()) return;
    await btcd.generate(1);
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what}: not reached after ${maxBlocks} blocks`);
}

export function onlyChannel(n: TestNode): Channel {
  const l = n.channels.list();
  if (l.length !== 1) throw new Error(`expected one channel, have ${l.length}`);
  return l[0]!;
}

export async function walletBalance(n: TestNode): Promise<bigint> {
  return (await n.node.wallet!.listFunds()).filter((o) => o.status === 'confirmed').reduce((s, o) => s + o.amountSat, 0n);
}
