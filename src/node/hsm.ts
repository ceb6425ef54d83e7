import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';

export const SEED_LENGTH = 32;

/**
 * Loads the 32-byte seed from `path` (`hsm_secret`), creating it with mode 0600 on first start.
 * The new file is written and fsynced before the node derives anything from it.
 */
export function loadOrCreateSeed(path: string): { seed: Buffer; created: boolean } {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`hsm_secret: cannot create ${path}: ${(err as Error).message}`);
    const seed = readFileSync(path);
    if (seed.length !== SEED_LENGTH) {
      throw new Error(`hsm_secret: ${path} has ${seed.length} bytes; expected a plain ${SEED_LENGTH}-byte seed (encrypted secrets are not supported)`);
    }
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new Error(`hsm_secret: ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    return { seed, created: false };
  }
  const seed = randomBytes(SEED_LENGTH);
  try {
    writeSync(fd, seed);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { seed, created: true };
}

/**
 * The wallet's birthday, kept with the seed: `hsm_secret.birthday` (mode 0600) holds the chain height when anode created
 * the seed, so a copy of both into a new data dir scans from there and finds every output. A seed without
 * one (restored from elsewhere) needs `--rescan`.
 */
/** The birthday height stored beside `hsmPath`, or undefined when there is none. */
export function readBirthday(hsmPath: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(`${hsmPath}.birthday`, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${hsmPath}.birthday: ${(err as Error).message}`);
  }
  if (!/^\d+$/.test(text)) throw new Error(`${hsmPath}.birthday: '${text.slice(0, 20)}' is not a block height`);
  return Number(text);
}

/** Records the birthday beside the seed (mode 0600, fsynced). */
export function writeBirthday(hsmPath: string, height: number): void {
  const fd = openSync(`${hsmPath}.birthday`, 'w', 0o600);
  try {
    writeSync(fd, `${height}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Where the wallet starts scanning: `--rescan`, else the seed's birthday for a wallet that never scanned. */
export interface ScanStart {
  startHeight?: number | ((bestHeight: number) => number);
  rescan?: boolean;
  onFirstTip?: (tip: { height: number }) => void;
}

/**
 * The wallet's scan start for a seed at `hsmPath` (just `created` or not) and a wallet that `scanned`
 * before or not: `--rescan` wins; a new seed records its birthday at the wallet's first tip; a seed with a
 * birthday and a fresh wallet scans from it; a seed with neither warns once, loudly.
 */
export function walletScanStart(
  hsmPath: string,
  o: { created: boolean; scanned: boolean; rescan: number | undefined; rescanStart: (rescan: number, best: number) => number },
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
): ScanStart {
  const record = (tip: { height: number }): void => {
    writeBirthday(hsmPath, tip.height);
    log.info({ height: tip.height, path: `${hsmPath}.birthday` }, `wallet birthday recorded: height ${tip.height}`);
  };
  if (o.rescan !== undefined) {
    const rescan = o.rescan;
    return { startHeight: (best) => o.rescanStart(rescan, best), rescan: true, ...(o.created ? { onFirstTip: record } : {}) };
  }
  if (o.created) return { onFirstTip: record };
  if (o.scanned) return {};
  const birthday = readBirthday(hsmPath);
  if (birthday !== undefined) {
    log.info({ birthday }, `wallet: scanning from the seed's birthday, height ${birthday}`);
    return { startHeight: birthday };
  }
  log.warn(
    { path: hsmPath },
    'WALLET BIRTHDAY UNKNOWN: this hsm_secret has no hsm_secret.birthday (a restored seed?) and this wallet never scanned, so it starts at the chain tip ' +
      'and will NOT see funds received earlier. Restart with --rescan=-<height> (scan from that absolute height) or --rescan=<blocks> (that many blocks back).',
  );
  return {};
}
