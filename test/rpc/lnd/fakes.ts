import type { TowerCore } from '../../../src/node/core/index.js';
import type { PolicyType, TowerAddress, WtClientCore, WtListOptions, WtTower } from '../../../src/watchtower/client/api.js';

/** In-memory watchtower client with LND's error texts, for exercising the RPC shells only. */
export class FakeWtClient implements WtClientCore {
  readonly towers = new Map<string, { pubkey: Buffer; addresses: string[]; active: boolean }>();
  readonly sessions = new Map<string, { tower: string; terminal: boolean; pending: number }>();
  calls: string[] = [];

  async addTower(pubkey: Buffer, a: TowerAddress): Promise<void> {
    this.calls.push('add');
    const addr = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
    const t = this.towers.get(pubkey.toString('hex')) ?? { pubkey, addresses: [], active: true };
    if (!t.addresses.includes(addr)) t.addresses.unshift(addr);
    t.active = true;
    this.towers.set(pubkey.toString('hex'), t);
  }
  async removeTower(pubkey: Buffer, a?: TowerAddress): Promise<void> {
    this.calls.push('remove');
    const t = this.towers.get(pubkey.toString('hex'));
    if (!t) throw new Error('tower not found');
    if (a) {
      if (t.addresses.length === 1) throw new Error('cannot remove last tower address');
      t.addresses = t.addresses.filter((x) => x !== `${a.host}:${a.port}`);
      return;
    }
    this.towers.delete(pubkey.toString('hex'));
  }
  async deactivateTower(pubkey: Buffer): Promise<void> {
    const t = this.towers.get(pubkey.toString('hex'));
    if (!t) throw new Error('tower not found');
    t.active = false;
  }
  async terminateSession(id: Buffer): Promise<void> {
    const s = this.sessions.get(id.toString('hex'));
    if (!s) throw new Error('client session not found');
    if (s.pending) throw new Error('session has un-acked updates');
    s.terminal = true;
  }
  async listTowers(opts: WtListOptions): Promise<WtTower[]> {
    return [...this.towers.values()].map((t) => this.#tower(t, opts));
  }
  async getTowerInfo(pubkey: Buffer, opts: WtListOptions): Promise<WtTower> {
    const t = this.towers.get(pubkey.toString('hex'));
    if (!t) throw new Error('tower not found');
    return this.#tower(t, opts);
  }
  #tower(t: { pubkey: Buffer; addresses: string[]; active: boolean }, opts: WtListOptions): WtTower {
    const sessions = [...this.sessions.entries()]
      .filter(([, s]) => s.tower === t.pubkey.toString('hex'))
      .map(([id]) => ({ id: Buffer.from(id, 'hex'), numBackups: 3, numPendingBackups: 0, maxBackups: 1024, sweepSatPerVbyte: 10, status: 'active' as const }));
    return {
      pubkey: t.pubkey,
      addresses: t.addresses,
      sessionInfo: (['LEGACY', 'ANCHOR'] as PolicyType[]).map((policyType) => ({
        policyType,
        activeSessionCandidate: t.active,
        numSessions: policyType === 'ANCHOR' ? sessions.length : 0,
        sessions: opts.includeSessions && policyType === 'ANCHOR' ? sessions : [],
      })),
    };
  }
  async stats() {
    return { numBackups: 1, numPendingBackups: 2, numFailedBackups: 3, numSessionsAcquired: 4, numSessionsExhausted: 5 };
  }
  async policy(type: PolicyType) {
    return { maxUpdates: type === 'LEGACY' ? 1024 : 2048, sweepSatPerVbyte: 10 };
  }
}

export class FakeTower implements TowerCore {
  constructor(readonly pubkey: Buffer) {}
  info() {
    const hex = this.pubkey.toString('hex');
    return { pubkey: this.pubkey, listeners: ['[::]:9911'], uris: [`${hex}@127.0.0.1:9911`] };
  }
}
