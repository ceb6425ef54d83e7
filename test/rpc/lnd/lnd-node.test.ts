/** The node methods' pieces that need no chain: LND's feature names, DebugLevel on real pino loggers, GetVersion. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { NodeCore } from '../../../src/node/core/index.js';
import { featureMap, featureName } from '../../../src/rpc/lnd/lightning.js';
import { debugLevel, getVersion } from '../../../src/rpc/lnd/node.js';
import { Features } from '../../../src/wire/features.js';

describe('LND node methods', () => {
  it('feature bits named as LND names them (lnwire.Features), 35/39/2023 included; unnamed bits unknown', () => {
    assert.deepEqual([35, 39, 2023, 3, 2, 12, 45, 2025].map(featureName), ['quiescence', 'onion-messages', 'script-enforced-lease', 'initial-routing-sync', undefined, 'static-remote-key', 'explicit-commitment-type', 'taproot-overlay-chans']);
    const m = featureMap(Features.fromBits([35, 39, 2023, 101]));
    assert.deepEqual(m['35'], { name: 'quiescence', is_required: false, is_known: true });
    assert.deepEqual(m['39'], { name: 'onion-messages', is_required: false, is_known: true });
    assert.deepEqual(m['2023'], { name: 'script-enforced-lease', is_required: false, is_known: true });
    assert.deepEqual(m['101'], { name: 'unknown', is_required: false, is_known: false });
  });

  it('DebugLevel sets the level of the root logger, which every child follows, made before or after; refuses what it cannot do', async () => {
    const root = pino({ level: 'info' }, { write: () => undefined });
    // As the node gives it (src/node/node.ts).
    const control = { get: () => root.level, set: (level: string) => void (root.level = level) };
    const early = root.child({ component: 'chain' });
    const grandchild = early.child({ peer: 'x' });
    const core = { logLevel: control } as unknown as NodeCore;
    assert.deepEqual(await debugLevel(core, { level_spec: 'debug' }), { sub_systems: '' });
    const late = root.child({ component: 'wallet' });
    assert.deepEqual([root.level, early.level, grandchild.level, late.level], ['debug', 'debug', 'debug', 'debug']);
    await debugLevel(core, { level_spec: 'critical' });
    assert.deepEqual([root.level, early.level, grandchild.level, late.level], ['fatal', 'fatal', 'fatal', 'fatal']);
    assert.deepEqual(await debugLevel(core, { show: true }), { sub_systems: '' });
    await assert.rejects(debugLevel(core, { level_spec: 'PEER=debug' }), /one level for all its components/);
    await assert.rejects(debugLevel(core, { level_spec: 'loud' }), /invalid debug level: loud/);
    assert.equal(root.level, 'fatal');
  });

  it('GetVersion splits the version anode runs as', async () => {
    const core = { config: { version: 'v0.1.0-anode' } } as unknown as NodeCore;
    assert.deepEqual(await getVersion(core), { version: '0.1.0-anode', app_major: 0, app_minor: 1, app_patch: 0, app_pre_release: 'anode' });
  });
});
