#!/usr/bin/env node
/**
 * The regtest lab: `npm run regtest [-- --dir=DIR]`. Starts btcd on regtest (TLS, its own certificate),
 * two anode nodes (alice and bob) wired to it with `--bitcoin-rpccert`, mines past segwit activation
 * (btcd regtest: height 432) with the coinbases paid to both wallets and matured, and prints how to drive
 * each node. Ctrl-C (or SIGTERM) stops the nodes, then btcd; the data stays in DIR.
 *
 * Each run starts from a fresh chain (btcd wipes its regtest chain at start-up anyway), so DIR's old lab
 * data is removed first. btcd is looked up as the tests do (test/harness/btcd.ts: $BTCD_BIN,
 * $(go env GOPATH)/bin, ~/go/bin, PATH) and installed with scripts/install-btcd.sh when Go is there and
 * btcd is not.
 *
 * The last line it prints once ready, `lab: ready {json}`, is for scripts (the lab's test reads it).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ANODE = path.join(root, 'dist', 'src', 'bin', 'anode.js');
const ANODE_CLI = path.join(root, 'dist', 'src', 'bin', 'anode-cli.js');
/** btcd regtest activates CSV, segwit and taproot by BIP9 signalling at this height. */
const SEGWIT_HEIGHT = 432;
const COINBASE_MATURITY = 100;
const NAMES = ['alice', 'bob'];

const say = (line) => process.stdout.write(`${line}\n`);
const die = (line) => {
  process.stderr.write(`regtest: ${line}\n`);
  process.exit(1);
};

function parseArgs(argv) {
  const opts = { dir: undefined };
  for (const a of argv) {
    const m = /^--dir=(.+)$/.exec(a);
    if (m) opts.dir = path.resolve(m[1].replace(/^~(?=$|\/)/, homedir()));
    else if (a === '--help' || a === '-h') {
      say('Usage: npm run regtest [-- --dir=DIR]   (default DIR: a new directory under the system temp dir)');
      process.exit(0);
    } else die(`unknown argument '${a}' (see --help)`);
  }
  return opts;
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, cmd)));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Stops whatever runs (set once main has children), then exits with `code`. */
let stopAll = async (code) => process.exit(code);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function cliJson(dir, ...args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [ANODE_CLI, `--anode-dir=${dir}`, ...args], { encoding: 'utf8' }, (err, out) => {
      if (err) reject(new Error(`anode-cli ${args.join(' ')}: ${out || err.message}`));
      else resolve(JSON.parse(out));
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(ANODE)) die(`${ANODE} is missing: run \`npm run build\` first (npm run regtest does)`);
  // btcd is found where the tests find it ($BTCD_BIN, $(go env GOPATH)/bin, ~/go/bin, PATH).
  const { findBtcd } = await import(path.join(root, 'dist', 'test', 'harness', 'btcd.js'));
  let btcdBin = findBtcd().btcd;
  if (!btcdBin) {
    if (spawnSync('go', ['version']).status !== 0) die('btcd is not installed and Go is not there to build it: install Go, then run scripts/install-btcd.sh');
    say('regtest: btcd not found; installing it with scripts/install-btcd.sh');
    if (spawnSync('bash', [path.join(root, 'scripts', 'install-btcd.sh')], { stdio: 'inherit' }).status !== 0) die('scripts/install-btcd.sh failed');
    btcdBin = spawnSync(process.execPath, ['--input-type=module', '-e', `import { findBtcd } from ${JSON.stringify(path.join(root, 'dist', 'test', 'harness', 'btcd.js'))}; process.stdout.write(findBtcd().btcd ?? '')`], { encoding: 'utf8' }).stdout;
    if (!btcdBin) die('btcd still not found after scripts/install-btcd.sh');
  }
  const btcctl = path.join(path.dirname(btcdBin), 'btcctl');
  const { BitcoindRpcClient } = await import(path.join(root, 'dist', 'src', 'chain', 'bitcoind-rpc.js'));
  const { WalletKeys, RECEIVE } = await import(path.join(root, 'dist', 'src', 'wallet', 'keys.js'));

  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'anode-regtest-'));
  mkdirSync(dir, { recursive: true });
  for (const sub of ['btcd', ...NAMES]) rmSync(path.join(dir, sub), { recursive: true, force: true });

  const children = new Map();
  let stopping = false;
  stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    say('regtest: stopping the nodes, then btcd');
    for (const [name, c] of [...children].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(t);
      say(`regtest: ${name} stopped`);
    }
    say(`regtest: stopped; the lab's data stays in ${dir}`);
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  // The children run in their own process groups (Ctrl-C reaches only the lab, which stops them in
  // order); if the lab itself dies, they go with it.
  process.on('exit', () => {
    for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const watch = (name, child) => {
    children.set(name, child);
    child.once('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(`regtest: ${name} exited (code ${code}, signal ${signal}); see its log in ${dir}\n`);
        void stopAll(1);
      }
    });
  };

  // The wallets' seeds, with a birthday at genesis: each wallet scans the whole (short) chain, and its
  // first address receives coinbases.
  const nodes = NAMES.map((name) => {
    const seed = randomBytes(32);
    const data = path.join(dir, name, 'regtest');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(data, 'hsm_secret'), seed, { mode: 0o600 });
    writeFileSync(path.join(data, 'hsm_secret.birthday'), '0\n', { mode: 0o600 });
    return { name, dir: path.join(dir, name), address: new WalletKeys(seed, 'regtest').derive('p2wpkh', RECEIVE, 0).address };
  });

  // btcd with TLS, as it runs by default; anode trusts its certificate with --bitcoin-rpccert.
  const b = { rpcPort: await freePort(), p2pPort: await freePort(), user: 'lab', password: randomBytes(12).toString('hex'), dir: path.join(dir, 'btcd') };
  b.cert = path.join(b.dir, 'rpc.cert');
  mkdirSync(b.dir, { recursive: true });
  const btcdArgs = [
    '--regtest',
    `--rpclisten=127.0.0.1:${b.rpcPort}`,
    `--rpcuser=${b.user}`,
    `--rpcpass=${b.password}`,
    `--rpccert=${b.cert}`,
    `--rpckey=${path.join(b.dir, 'rpc.key')}`,
    `--listen=127.0.0.1:${b.p2pPort}`,
    `--datadir=${path.join(b.dir, 'data')}`,
    `--logdir=${path.join(b.dir, 'logs')}`,
    ...nodes.map((n) => `--miningaddr=${n.address}`),
    '--txindex',
    '--nodnsseed',
  ];
  const btcdLog = createWriteStream(path.join(b.dir, 'btcd.log'));
  const btcd = spawn(btcdBin, btcdArgs, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  btcd.stdout.pipe(btcdLog);
  btcd.stderr.pipe(btcdLog);
  watch('btcd', btcd);
  await until('btcd to write its TLS certificate', async () => existsSync(b.cert) && readFileSync(b.cert, 'utf8').includes('END CERTIFICATE'), 30_000);
  const rpc = new BitcoindRpcClient({ port: b.rpcPort, user: b.user, password: b.password, tlsCert: readFileSync(b.cert), retry: { maxAttempts: 1 } });
  await until("btcd's RPC", async () => (await rpc.getBlockCount()) >= 0, 30_000);
  const target = SEGWIT_HEIGHT + COINBASE_MATURITY;
  say(`regtest: btcd up (TLS on 127.0.0.1:${b.rpcPort}); mining ${target} blocks: segwit active at ${SEGWIT_HEIGHT}, coinbases mature`);
  await rpc.call('generate', [target]);

  const backend = [`--bitcoin-rpcport=${b.rpcPort}`, `--bitcoin-rpcuser=${b.user}`, `--bitcoin-rpcpassword=${b.password}`, `--bitcoin-rpccert=${b.cert}`];
  for (const n of nodes) {
    n.port = await freePort();
    const args = [ANODE, `--anode-dir=${n.dir}`, `--alias=${n.name}`, `--addr=127.0.0.1:${n.port}`, `--rpclisten=127.0.0.1:${await freePort()}`, `--restlisten=127.0.0.1:${await freePort()}`, ...backend];
    const log = createWriteStream(path.join(n.dir, 'anode.log'));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    watch(n.name, child);
    n.pid = child.pid;
    n.id = await new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (c) => {
        buf += c.toString();
        const m = /"nodeId":"([0-9a-f]{66})"/.exec(buf);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`${n.name} exited at start; see ${path.join(n.dir, 'anode.log')}`)));
    });
  }
  for (const n of nodes) {
    await until(`${n.name}'s wallet to see its coins`, async () => {
      const { outputs } = await cliJson(n.dir, 'listfunds');
      n.balance = outputs.filter((o) => o.status === 'confirmed').reduce((s, o) => s + Number(o.amount_msat) / 1000, 0);
      return n.balance > 0;
    }, 120_000);
  }

  const cliCmd = onPath('anode-cli') ? 'anode-cli' : `node ${path.relative(process.cwd(), ANODE_CLI) || ANODE_CLI}`;
  const mine = `${existsSync(btcctl) ? btcctl : 'btcctl'} --regtest --rpcserver=127.0.0.1:${b.rpcPort} --rpcuser=${b.user} --rpcpass=${b.password} --rpccert=${b.cert} generate`;
  const [alice, bob] = nodes;
  say('');
  say(`anode regtest lab ready in ${dir} (btcd at height ${await rpc.getBlockCount()}, segwit active)`);
  for (const n of nodes) say(`  ${n.name.padEnd(5)} ${n.id}@127.0.0.1:${n.port}  ${n.balance} sat   ${cliCmd} --anode-dir=${n.dir} getinfo`);
  say('');
  say('Open a channel from alice to bob, then mine 3 blocks (bob asks 3 confirmations):');
  say(`  ${cliCmd} --anode-dir=${alice.dir} connect ${bob.id}@127.0.0.1:${bob.port}`);
  say(`  ${cliCmd} --anode-dir=${alice.dir} fundchannel ${bob.id} 1000000`);
  say(`  ${mine} 3`);
  say(`  ${cliCmd} --anode-dir=${alice.dir} listpeerchannels`);
  say(`Logs: ${alice.dir}/anode.log, ${bob.dir}/anode.log, ${b.dir}/btcd.log. Ctrl-C stops everything.`);
  rpc.close();
  say(
    `lab: ready ${JSON.stringify({
      dir,
      btcd: { pid: btcd.pid, rpcPort: b.rpcPort, user: b.user, password: b.password, cert: b.cert },
      nodes: nodes.map((n) => ({ name: n.name, dir: n.dir, id: n.id, port: n.port, pid: n.pid })),
    })}`,
  );
}

main().catch((err) => {
  process.stderr.write(`regtest: ${err.message}\n`);
  void stopAll(1);
});
