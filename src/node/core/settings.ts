/**
 * What the API shells see of the node's options (CLN's listconfigs/setconfig) and the hook that
 * counts their calls (metrics). Implemented in `node/` (settings.ts, metrics wiring).
 */

/** One option as configured: its values and where each came from (`default`, `cmdline`, `<file>:<line>`). */
export interface ConfigEntry {
  name: string;
  kind: 'string' | 'integer' | 'flag' | 'list';
  /** One value, except for a list option (every value, in order). */
  values: string[];
  sources: string[];
  /** Whether setconfig can change it while the node runs. */
  dynamic: boolean;
}

export interface SettingsCore {
  /** Every option that has a value (set or default), in the option table's order. */
  list(): ConfigEntry[];
  /** Whether the node has an option of that name (set or not), and whether setconfig can change it. */
  option(name: string): { dynamic: boolean } | undefined;
  /**
   * Changes a dynamic option now and, unless `transient`, in `<anode-dir>/<network>/config` (written
   * before this resolves). CoreError INVALID for an unknown, non-dynamic or bad value.
   */
  set(name: string, value: string, transient: boolean): Promise<ConfigEntry>;
}

/** Told when an API call starts; the function it returns, when the call ends. */
export type RpcObserver = (shell: 'cln' | 'lnd', method: string) => (ok: boolean) => void;

/** Runs `fn` as one observed call (no observer: just runs it). */
export async function observeCall<T>(observer: RpcObserver | undefined, shell: 'cln' | 'lnd', method: string, fn: () => Promise<T>): Promise<T> {
  if (!observer) return fn();
  const done = observer(shell, method);
  try {
    const r = await fn();
    done(true);
    return r;
  } catch (err) {
    done(false);
    throw err;
  }
}
