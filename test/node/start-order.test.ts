/**
 * Construction first, then start: a peer that connects at the first instant anode's port accepts is
 * served by the channel layer. Its channel_reestablish for a channel anode does not have gets the
 * channel-level error a channel owner sends, where it used to meet a node that listened before its
 * channel handlers were attached and refused it as an unknown even message.
 *
 * The node restarts with an unconfirmed wallet transaction while its backend is down, so its start-up
 * (republishing that transaction, retried with backoff) takes seconds: long enough that a listener
 * opened early would certainly be reached first.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { channelMessagePayload, type ChannelReestablish } from '../../src/channel/messages.js';
import { fakeCoinbase } from '../../src/chain/memory-chain.js';
import { parseTransaction } from '../../src/chain/block.js';
import { KeyChain } from '../../src/crypto/keychain.js';
import { loadConfig } from '../../src/node/config.js';
import { loadOrCreateSeed } from '../../src/node/hsm.js';
import { AnodeNode, DATABASE_FILE } from '../../src/node/node.js';
import { openSqliteStore } from '../../src/store/database.js';
import type { Peer } from '../../src/peer/peer.js';
import { MessageType, type Message } from '../../src/wire/messages.js';
import { freePort } from '../harness/btcd.js';
import { startPeerManager, staticKey, tempDir, testLogger } from '../harness/daemon.js';
import { sleep, withTimeout } from '../harness/wait.js';

describe('node start order', { timeout: 60_000 }, () => {
  it('a peer connecting the moment the port opens is answered by the channel layer', async () => {
    const port = await freePort();
    const { config } = loadConfig([
      `--anode-dir=${tempDir()}`,
      `--addr=127.0.0.1:${port}`,
      '--rpclisten=127.0.0.1:0',
      '--restlisten=127.0.0.1:0',
      '--watchtower.active',
      '--watchtower.listen=127.0.0.1:0',
      '--wtclient.active',
      // No backend: the chain is retried in the background and must not hold anything up.
      '--bitcoin-rpcport=1',
    ]);
    mkdirSync(config.dataDir, { recursive: true });
    const nodeId = new KeyChain(loadOrCreateSeed(join(config.dataDir, 'hsm_secret')).seed, config.network).nodeKey().publicKey;
    const store = await openSqliteStore(join(config.dataDir, DATABASE_FILE));
    const unconfirmed = fakeCoinbase(1, 1);
    await store.wallet.recordBroadcast({ txid: parseTransaction(unconfirmed).txid, raw: unconfirmed }, [], [], 0);
    await store.close();
    const client = await startPeerManager({ localKey: staticKey(0x17), listen: [] });
    let failed: unknown;
    const starting = AnodeNode.start(config, testLogger()).catch((e: unknown) => {
      failed = e;
      return undefined;
    });
    let peer: Peer | undefined;
    try {
      // Dial in a tight loop: the first connection the port accepts is ours.
      const deadline = Date.now() + 30_000;
      while (!peer) {
        if (failed) throw failed;
        try {
          peer = await client.manager.connect(nodeId, '127.0.0.1', port);
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await sleep(5);
        }
      }
      const channelId = Buffer.alloc(32, 0xab);
      const answer = new Promise<Message>((resolve) => peer!.on('message', (m) => m.type === MessageType.ERROR && resolve(m)));
      const reestablish: ChannelReestablish = {
        type: 136,
        channelId,
        nextCommitmentNumber: 1n,
        nextRevocationNumber: 0n,
        yourLastPerCommitmentSecret: Buffer.alloc(32),
        myCurrentPerCommitmentPoint: staticKey(0x18).publicKey,
        extraTlvs: [],
      };
      peer.send({ type: 136, unknown: true, payload: channelMessagePayload(reestablish) });
      const error = (await withTimeout(answer, 10_000, 'an answer to channel_reestablish')) as Message & { channelId: Buffer; data: Buffer };
      assert.deepEqual(error.channelId, channelId, 'the error names the channel');
      assert.equal(error.data.toString('utf8'), 'Unknown channel for reestablish');
      assert.ok(peer.connected, 'the connection stays up');
    } finally {
      await client.close();
      await (await starting)?.stop();
    }
  });
});
