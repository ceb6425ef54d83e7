#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

/**
 * V8 sized for a long-running, mostly idle daemon (docs/performance.md, "RSS at rest"): a smaller young
 * generation and heap growth that favours size, so start-up's garbage does not stay resident. Set here,
 * before the node's modules load (they are imported below, dynamically, for that reason), so it holds for
 * `npx anode`, `npm start` and any `node dist/src/bin/anode.js`. `ANODE_V8_FLAGS=''` turns it off.
 */
setFlagsFromString(process.env.ANODE_V8_FLAGS ?? '--optimize-for-size');
/**
 * No optimizing compiler (Turbofan) until the node has started: start-up's code runs once, and compiling it
 * maps V8's compiler pages and leaves its code resident, ~4–6 MiB of an idle node's RSS (docs/performance.md).
 * Turbofan is switched back on once "anode started" is out, so the hot paths (BOLT 8, signatures) are
 * optimized as soon as they get hot. Not when ANODE_V8_FLAGS is set: those flags are the user's.
 */
const turbofanAfterStart = process.env.ANODE_V8_FLAGS === undefined;
if (turbofanAfterStart) setFlagsFromString('--no-turbofan');

const { secpBackend } = await import('../crypto/secp256k1.js');
const { ConfigError, helpText, loadConfig } = await import('../node/config.js');
const { LockError } = await import('../node/lock.js');
const { createLogger } = await import('../node/logger.js');
const { AnodeNode } = await import('../node/node.js');
const { loadMallocTrim, reason, StartupError, trimMallocAtRest } = await import('../node/startup.js');
const { PACKAGE_VERSION } = await import('../rpc/cln/schema.js');

/** --log-level=debug (or trace): fatal errors show their stacks (else one line each). */
let debug = false;

/** A fatal error as one line: `anode: cannot …: <reason>`; its stack (and its cause's) only at debug level. */
function fatal(err: unknown): void {
  const e = err as Error;
  const line = err instanceof StartupError || err instanceof LockError ? e.message : `cannot start: ${reason(err)}`;
  process.stderr.write(`anode: ${line}\n`);
  if (debug) {
    process.stderr.write(`${e?.stack ?? String(err)}\n`);
    if (e?.cause instanceof Error) process.stderr.write(`caused by: ${e.cause.stack ?? e.cause.message}\n`);
  }
}

async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`anode: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (loaded.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (loaded.version) {
    process.stdout.write(`anode v${PACKAGE_VERSION}-anode\n`);
    return 0;
  }
  debug = loaded.config.logLevel === 'debug' || loaded.config.logLevel === 'trace';
  // grpc-js writes its own lines to stderr (a failed bind, say); below debug the one-line error says it all.
  if (!debug) {
    const grpc = await import('@grpc/grpc-js');
    grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  }
  const log = createLogger(loaded.config.logLevel);
  // Which secp256k1 backend runs (the native addon unless it failed to load or ANODE_SECP256K1=tiny).
  if (secpBackend.name === 'libsecp256k1 (native addon)' || process.env.ANODE_SECP256K1 === 'tiny') log.debug({ secp256k1: secpBackend.name, reason: secpBackend.reason }, 'secp256k1 backend');
  else log.warn({ secp256k1: secpBackend.name, reason: secpBackend.reason }, 'secp256k1: the native addon did not load; using tiny-secp256k1 (WebAssembly): slower handshakes and signatures');
  // Signal handlers go in before anything starts, so a signal during start-up still shuts down cleanly.
  let stopRequested!: () => void;
  const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      log.warn({ signal: sig }, 'second signal: exiting at once');
      process.exit(130);
    }
    signalled = true;
    log.info({ signal: sig }, 'signal received');
    stopRequested();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let node: Awaited<ReturnType<typeof AnodeNode.start>>;
  try {
    node = await AnodeNode.start(loaded.config, log);
  } catch (err) {
    fatal(err);
    return 1;
  }
  if (turbofanAfterStart) setFlagsFromString('--turbofan');
  // malloc's free memory back to the OS once started and then each minute (the optional native/trim addon).
  const mallocTrim = loadMallocTrim();
  const stopTrim = 'error' in mallocTrim ? undefined : trimMallocAtRest(mallocTrim);
  if ('error' in mallocTrim) log.debug({ reason: mallocTrim.error }, 'malloc_trim: the native/trim addon did not load; RSS at rest stays higher');
  // The `stop` JSON-RPC command shuts the node down from inside: then exit 0 as for a signal.
  void node.stopped.then(() => stopRequested());
  await stopSignal;
  stopTrim?.();
  try {
    await node.stop();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'error during shutdown');
    return 1;
  }
  return node.failure ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    fatal(err);
    process.exit(1);
  },
);
