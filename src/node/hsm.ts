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
