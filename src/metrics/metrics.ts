/**
 * The node's Prometheus metrics (prom-client): each figure is read from the node when scraped (peers,
 * channels by state, balances, HTLCs in flight, the tower's sessions and updates, the watchtower client's
 * backups, payments sent and invoices by status, the chain position), and every API call of both shells is counted and timed by method as it
 * happens. Names follow Prometheus' conventions: `anode_` prefix, base units, `_total` for counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { chainStatus, channelBalances, type NodeCore, type RpcObserver } from '../node/core/index.js';

export interface MetricsSources {
  core: NodeCore;
  /** The tower's stored sessions and state updates, when the node runs a tower. */
  towerCounts?: () => Promise<{ sessions: number; updates: number }>;
  /** Invoices by status (unpaid, paid, expired), counted by the store rather than listed. */
  invoiceCounts?: () => Promise<Record<string, number>>;
}

export interface NodeMetrics {
  readonly registry: Registry;
  /** Counts and times API calls (NodeCore.rpcObserver). */
  readonly observe: RpcObserver;
}

export function createMetrics(getSources: () => MetricsSources | undefined): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  /** A gauge whose values are set by `read` at each scrape; a failing source leaves it empty, never fails the scrape. */
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], read: (g: Gauge<L>, s: MetricsSources) => Promise<void> | void): void => {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const s = getSources();
        if (!s) return;
        try {
          await read(this, s);
        } catch {
          this.reset();
        }
      },
    });
  };

  gauge('anode_peers_connected', 'Peers connected now.', [], (g, { core }) => g.set(core.peers.list().length));
  gauge('anode_channels', 'Channels by state (lightningd state names).', ['state'], async (g, { core }) => {
    const counts = new Map<string, number>();
    for (const c of await core.channels.list()) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
    for (const [state, n] of counts) g.set({ state }, n);
  });
  gauge('anode_wallet_balance_sat', 'On-chain wallet outputs not spent, by status.', ['status'], async (g, { core }) => {
    if (!core.wallet) return;
    const sums = new Map<string, bigint>();
    for (const o of await core.wallet.listFunds()) sums.set(o.status, (sums.get(o.status) ?? 0n) + o.amountSat);
    for (const [status, sat] of sums) g.set({ status }, Number(sat));
  });
  gauge('anode_channel_balance_msat', 'Our and the peers’ balances in open channels (the opener’s commitment fee and anchors taken), as LND’s ChannelBalance reports them.', ['side'], (g, { core }) => {
    if (!core.channelManager) return;
    const b = channelBalances(core);
    g.set({ side: 'local' }, Number(b.msat.local));
    g.set({ side: 'remote' }, Number(b.msat.remote));
  });
  const htlcs = (unit: 'count' | 'msat') => (g: Gauge<'direction'>, { core }: MetricsSources) => {
    const sum = { out: 0n, in: 0n };
    for (const c of core.channelManager?.list() ?? []) {
      for (const h of c.data.localCommit.spec.htlcs) {
        const dir = h.direction === 'offered' ? 'out' : 'in';
        sum[dir] += unit === 'count' ? 1n : h.add.amountMsat;
      }
    }
    g.set({ direction: 'out' }, Number(sum.out));
    g.set({ direction: 'in' }, Number(sum.in));
  };
  gauge('anode_htlcs_in_flight', 'HTLCs on our latest commitments, offered (out) and received (in).', ['direction'], htlcs('count'));
  gauge('anode_htlcs_in_flight_msat', 'Amount of the HTLCs on our latest commitments.', ['direction'], htlcs('msat'));
  gauge('anode_tower_sessions', 'Sessions the tower holds for its clients.', [], async (g, s) => {
    if (s.towerCounts) g.set((await s.towerCounts()).sessions);
  });
  gauge('anode_tower_updates', 'State updates (encrypted backups) the tower holds.', [], async (g, s) => {
    if (s.towerCounts) g.set((await s.towerCounts()).updates);
  });
  gauge('anode_wtclient_backups', 'Watchtower client backups: acked by a tower, pending, failed.', ['status'], async (g, { core }) => {
    if (!core.watchtowerClient) return;
    const st = await core.watchtowerClient.stats();
    g.set({ status: 'acked' }, st.numBackups);
    g.set({ status: 'pending' }, st.numPendingBackups);
    g.set({ status: 'failed' }, st.numFailedBackups);
  });
  gauge('anode_wtclient_sessions', 'Watchtower client sessions acquired and exhausted.', ['status'], async (g, { core }) => {
    if (!core.watchtowerClient) return;
    const st = await core.watchtowerClient.stats();
    g.set({ status: 'acquired' }, st.numSessionsAcquired);
    g.set({ status: 'exhausted' }, st.numSessionsExhausted);
  });
  gauge('anode_payments', 'Payments we sent, by status (pending, complete, failed).', ['status'], async (g, { core }) => {
    if (!core.payments) return;
    for (const [status, n] of await core.payments.countByStatus()) g.set({ status }, n);
  });
  gauge('anode_invoices', 'Invoices in the invoice book, by status (unpaid, paid, expired).', ['status'], async (g, s) => {
    if (!s.invoiceCounts) return;
    for (const [status, n] of Object.entries(await s.invoiceCounts())) g.set({ status }, n);
  });
  // One backend question per scrape for the three chain figures.
  let chain: Promise<Awaited<ReturnType<typeof chainStatus>>> | undefined;
  const status = (core: NodeCore) => (chain ??= chainStatus(core).finally(() => setImmediate(() => (chain = undefined))));
  gauge('anode_chain_height', 'Height of the best block the channels have processed.', [], async (g, { core }) => {
    if (core.chain) g.set((await status(core)).blockheight);
  });
  gauge('anode_chain_backend_height', 'The chain backend’s best height (absent while it does not answer).', [], async (g, { core }) => {
    const h = core.chain ? (await status(core)).backendHeight : undefined;
    if (h !== undefined) g.set(h);
  });
  gauge('anode_chain_lag_blocks', 'Blocks the node is behind its backend.', [], async (g, { core }) => {
    if (!core.chain) return;
    const st = await status(core);
    if (st.backendHeight !== undefined) g.set(Math.max(0, st.backendHeight - st.blockheight));
  });

  const calls = new Counter({ name: 'anode_rpc_calls_total', help: 'API calls by shell (cln, lnd), method and result (ok, error).', labelNames: ['shell', 'method', 'result'] as const, registers });
  const latency = new Histogram({
    name: 'anode_rpc_call_duration_seconds',
    help: 'API call durations by shell and method.',
    labelNames: ['shell', 'method'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60],
    registers,
  });
  const observe: RpcObserver = (shell, method) => {
    const end = latency.startTimer({ shell, method });
    return (ok) => {
      end();
      calls.inc({ shell, method, result: ok ? 'ok' : 'error' });
    };
  };
  return { registry, observe };
}
