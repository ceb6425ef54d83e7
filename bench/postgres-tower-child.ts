/**
 * One tower process for the PostgreSQL benchmark: `node postgres-tower-child.js <url> <tower private key hex>`.
 * Prints `{"port":N}` once listening; runs until SIGTERM.
 */
import { pino } from 'pino';
import { secp } from '../src/crypto/secp256k1.js';
import { openTowerDatabase } from '../src/store/tower.js';
import { WatchtowerServer } from '../src/watchtower/server/server.js';
import { CHAIN_HASHES } from '../src/watchtower/wire/index.js';

const [url, keyHex] = process.argv.slice(2);
if (!url || !keyHex) throw new Error('postgres-tower-child: usage: postgres-tower-child <url> <key hex>');
const privateKey = Buffer.from(keyHex, 'hex');
const store = await openTowerDatabase(url);
const server = new WatchtowerServer();
await server.start({
  listen: [{ host: '127.0.0.1', port: 0 }],
  towerKey: { privateKey, publicKey: secp.publicKey(privateKey) },
  chainHash: CHAIN_HASHES.regtest,
  store,
  log: pino({ level: 'silent' }),
});
process.stdout.write(JSON.stringify({ port: server.bound[0]!.port }) + '\n');
process.on('SIGTERM', () => {
  void server.stop().then(() => store.close()).then(() => process.exit(0));
});
