/**
 * `--wtclient.*` options (LND's names), in the shape of src/node/config.ts's OptionSpec, and their
 * conversion into {@link WatchtowerClientOptions}.
 */
export interface WtClientOptionSpec {
  name: string;
  kind: 'string' | 'integer' | 'flag' | 'list';
  arg?: string;
  default?: string | number | boolean | string[];
  help: string;
}

export const WTCLIENT_OPTION_SPECS: readonly WtClientOptionSpec[] = [
  { name: 'wtclient.active', kind: 'flag', help: 'Back up revoked channel states to watchtowers (LND-compatible towers).' },
  { name: 'wtclient.sweep-fee-rate', kind: 'integer', arg: 'SAT_PER_VBYTE', default: 10, help: 'Fee rate of the justice transactions towers publish, sat/vB (minimum 4).' },
  { name: 'wtclient.max-updates', kind: 'integer', arg: 'N', default: 1024, help: 'Updates per watchtower session (1 to 65535).' },
  {
    name: 'wtclient.session-close-range',
    kind: 'integer',
    arg: 'BLOCKS',
    default: 288,
    help: 'A session whose channels are all closed is deleted at its tower after a random delay of up to this many blocks (1 = no delay).',
  },
];

export interface WtClientConfig {
  active: boolean;
  sweepFeeRateSatPerVbyte: number;
  maxUpdates: number;
  sessionCloseRange: number;
}

export class WtClientConfigError extends Error {
  override name = 'WtClientConfigError';
}

function int(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'number' ? v : /^[0-9]+$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new WtClientConfigError(`--${name}: must be an integer from ${min} to ${max}`);
  return n;
}

/** Values by option name (as config.ts parses them) → checked client settings. */
export function wtClientConfigFromOptions(values: Record<string, unknown>): WtClientConfig {
  return {
    active: values['wtclient.active'] === true || values['wtclient.active'] === 'true',
    sweepFeeRateSatPerVbyte: int(values['wtclient.sweep-fee-rate'], 'wtclient.sweep-fee-rate', 4, 1_000_000, 10),
    maxUpdates: int(values['wtclient.max-updates'], 'wtclient.max-updates', 1, 65535, 1024),
    sessionCloseRange: int(values['wtclient.session-close-range'], 'wtclient.session-close-range', 1, 1_000_000, 288),
  };
}
