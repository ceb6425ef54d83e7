import { join } from 'node:path';
import type { Logger } from 'pino';
import { KeyChain } from '../crypto/keychain.js';
import { formatAddress, PeerManager } from '../peer/manager.js';
import { MessageRouter } from '../peer/router.js';
import { createClnRpc, type RpcServer } from '../rpc/cln/index.js';
import { PACKAGE_VERSION } from '../rpc/cln/schema.js';
import { startLndRpc, type LndRpcHandle } from '../rpc/lnd/server.js';
import { BitcoindRpcClient } from '../chain/bitcoind-rpc.js';
import type { BlockTip } from '../chain/chain-source.js';
import { ChainNotifier, MemoryTipStore, type Subscription } from '../chain/notifier.js';
import { createWallet, type Wallet } from '../wallet/index.js';
import { ChannelManager } from '../channel/manager.js';
import { HtlcIntake } from '../payment/intake.js';
import { InvoiceBook } from '../invoice/book.js';
import { signWithKey } from '../invoice/bolt11.js';
import { PaymentSender } from '../payment/send.js';
import { MissionControl } from '../routing/mission.js';
import { Forwarder } from '../payment/forward.js';
import { Announcer, type OwnChannel } from '../gossip/announce.js';
import { Gossip } from '../gossip/gossip.js';
import { scidFromString } from '../gossip/messages.js';
import { ChannelKeys } from '../channel/signer.js';
import { secp } from '../crypto/secp256k1.js';
import { defaultAlias } from './core/info.js';
import type { Lookout } from '../watchtower/lookout/index.js';
import type { WatchtowerClient } from '../watchtower/client/index.js';
import type { WatchtowerServer } from '../watchtower/server/server.js';
import { openStore, type Store } from '../store/database.js';
import type { TowerDatabase } from '../store/tower.js';
import type { LookoutLease } from '../watchtower/lookout/lease.js';
import { Feature, Features } from '../wire/features.js';
import { CHAIN_HASH } from '../wire/messages.js';
import { PEER_PORTS, rescanStart, type Config } from './config.js';
import type { NodeCore } from './core/index.js';
import { loadOrCreateSeed, walletScanStart } from './hsm.js';
import { DataDirLock, onLockLost } from './lock.js';
import { redactUrl } from '../store/url.js';
import { levelSwitch, logControl } from './logger.js';
import { NodeSettings } from './settings.js';
import type { MetricsSources } from '../metrics/metrics.js';
import type { MetricsServer } from '../metrics/server.js';
import { ensureWritableDir, prepareDatabaseFile, step } from './startup.js';

/**
 * The init features we send. Odd ("supported") bits where we do not insist, var_onion_optin required
 * as every current implementation does. LDK requires peers to support 0, 8, 12 and 14.
 *   1 option_data_loss_protect, 8 var_onion_optin, 13 option_static_remotekey, 15 payment_secret
 */
/**
 * data_loss_protect (1), gossip_queries (7), var_onion_optin (8, required), static_remotekey (13),
 * payment_secret (15), anchors_zero_fee_htlc_tx (23), route_blinding (25: we relay and receive blinded
 * payments, so payers may pick us as an introduction node), shutdown_anysegwit (27), channel_type (45),
 * simple_close (61).
 */
export const INIT_FEATURES = Features.fromBits([1, 7, 8, 13, 15, 23, 25, 27, 45, 61]);

/** The tower keeps its own database (`--watchtower.wallet`), as LND's watchtower.db: it grows with other nodes' backups. */
export { DATABASE_FILE, TOWER_DATABASE_FILE } from '../store/location.js';

/**
 * The one place that knows every component: builds them all and attaches every handler first, then
 * starts them, listeners last (no peer is accepted before its messages can be served, as ldk-node's
 * builder does), and takes them down in reverse.
 */
export class AnodeNode {
  private constructor(
    readonly config: Config,
    readonly keys: KeyChain,
    readonly store: Store,
    readonly peers: PeerManager,
    private readonly lock: DataDirLock,
    private readonly log: Logger,
  ) {}

  /** The JSON-RPC server (set once started). */
  rpc: RpcServer | undefined;
  /** The LND-compatible gRPC and REST servers (set once started). */
  lnd: LndRpcHandle | undefined;
  /** The watchtower for other nodes, with --watchtower.active. */
  tower: { server: WatchtowerServer; store: TowerDatabase; lookout: Lookout; lease: LookoutLease } | undefined;
  /** The bitcoind/btcd backend every chain-watching component shares. */
  chain: BitcoindRpcClient | undefined;
  /** Polls `chain` and hands each block, fetched once, to every component that follows the chain. */
  notifier: ChainNotifier | undefined;
  /** The on-chain wallet. */
  wallet: Wallet | undefined;
  /** The watchtower client, with --wtclient.active. */
  wtclient: { client: WatchtowerClient; blocks: Subscription } | undefined;
  /** Channels (BOLT 2) over the peers, the wallet and the chain backend. */
  channels: ChannelManager | undefined;
  invoices: InvoiceBook | undefined;
  /** BOLT 7: the graph, gossip in and out. */
  gossip: Gossip | undefined;
  announcer: Announcer | undefined;
  /** The HTLC intake: incoming HTLCs settled against the invoice book or failed back. */
  intake: HtlcIntake | undefined;
  /** The HTLC switch: incoming HTLCs forwarded to another channel. */
  forwarder: Forwarder | undefined;
  /** The Prometheus endpoint, with --metrics-listen. */
  metrics: MetricsServer | undefined;
  /** Why the node stopped itself (its database lock lost): the process exits non-zero. */
  failure: string | undefined;
  #stopped!: () => void;
  /** Resolves once the node has stopped (a signal, the `stop` command, or a lost database lock). */
  readonly stopped: Promise<void> = new Promise((resolve) => (this.#stopped = resolve));

  get nodeId(): Buffer {
    return this.peers.nodeId;
  }

  static async start(config: Config, log: Logger): Promise<AnodeNode> {
    log.debug({ config }, 'configuration');
    // Before anything opens: a data dir or database we cannot write stops the start here, in one line.
    ensureWritableDir(config.dataDir);
    // (A PostgreSQL database is checked by its server when opened.)
    for (const at of [config.wallet, ...(config.watchtower.active ? [config.watchtower.wallet] : [])]) {
      if (at.startsWith('sqlite3://')) prepareDatabaseFile(at.slice('sqlite3://'.length));
    }
    const lock = DataDirLock.acquire(config.dataDir);
    let store: Store | undefined;
    let node: AnodeNode | undefined;
    try {
      const { seed, created } = await step('load the seed', () => loadOrCreateSeed(join(config.dataDir, 'hsm_secret')));
      if (created) log.info({ path: join(config.dataDir, 'hsm_secret') }, 'created a new seed');
      const keys = new KeyChain(seed, config.network);
      store = await step('open the database', () => openStore(config.wallet));
      const nodeKey = keys.nodeKey();
      // Construction: every component and every message handler, nothing listening or polling yet.
      const peers = new PeerManager({
        localKey: nodeKey,
        chainHash: CHAIN_HASH[config.network],
        features: config.devNoSimpleClose ? INIT_FEATURES.without(Feature.OPTION_SIMPLE_CLOSE + 1) : INIT_FEATURES,
        listen: config.listen,
        connectTimeoutMs: config.connectTimeoutMs,
        handshakeTimeoutMs: config.handshakeTimeoutMs,
        initTimeoutMs: config.initTimeoutMs,
        pingIntervalMs: config.pingIntervalMs,
        pingTimeoutMs: config.pingTimeoutMs,
        maxPendingHandshakes: config.maxPendingHandshakes,
        maxOutboundBuffer: config.maxPeerBuffer,
        maxMessageLength: 65535,
        peers: store.peers,
        log,
      });
      const started = new AnodeNode(config, keys, store, peers, lock, log);
      node = started;
      // One backend client and one notifier for everything that watches the chain: each block is fetched
      // once. An unreachable bitcoind/btcd is retried with backoff and logged; it never stops the daemon,
      // and no block is skipped when it comes back.
      const chain = new BitcoindRpcClient({ ...config.chain, logger: log.child({ component: 'chain' }) });
      started.chain = chain;
      const notifier = new ChainNotifier(chain, { pollIntervalMs: config.devChainPollMs, logger: log.child({ component: 'chain' }) });
      started.notifier = notifier;
      const scanned = (await store.wallet.getScanTip()) !== null;
      const scanStart = walletScanStart(join(config.dataDir, 'hsm_secret'), { created, scanned, rescan: config.rescan, rescanStart }, log.child({ component: 'wallet' }));
      const wallet = createWallet({ seed, network: config.network, chain, notifier, store: store.wallet, logger: log.child({ component: 'wallet' }), ...scanStart });
      started.wallet = wallet;
      if (config.watchtower.active) {
        // The tower's modules load only when it runs (RSS at rest, docs/performance.md).
        const [{ openTowerDatabase }, { Lookout }, { LookoutLease }, { WatchtowerServer }] = await Promise.all([import('../store/tower.js'), import('../watchtower/lookout/index.js'), import('../watchtower/lookout/lease.js'), import('../watchtower/server/server.js')]);
        const towerStore = await step('open the watchtower database', () => openTowerDatabase(config.watchtower.wallet));
        const lookout = new Lookout({ chain, notifier, store: towerStore, log: log.child({ component: 'lookout' }) });
        // Several tower processes may share a PostgreSQL tower database: the lookout runs in one at a time.
        const lease = new LookoutLease(towerStore, lookout, log.child({ component: 'lookout' }));
        started.tower = { server: new WatchtowerServer(), store: towerStore, lookout, lease };
      }
      if (config.wtclient.active) {
        const { createWatchtowerClient } = await import('../watchtower/client/index.js'); // loaded only when active
        const client = createWatchtowerClient({
          store: store.wtclient,
          keychain: keys,
          chainHash: CHAIN_HASH[config.network],
          log: log.child({ component: 'wtclient' }),
          sweepFeeRateSatPerVbyte: config.wtclient.sweepFeeRateSatPerVbyte,
          maxUpdates: config.wtclient.maxUpdates,
          sessionCloseRange: config.wtclient.sessionCloseRange,
        });
        // Session clean-up counts blocks: the client hears the height of every tip it is given, the best
        // block adopted at start included (as the old poller told it the height at once). Not awaited, as
        // the old poller did not: deleting sessions dials towers, and no other consumer's blocks may wait
        // on a tower.
        const heard = (height: number): void => {
          client.blockConnected(height).catch((err: Error) => log.warn({ err: err.message }, 'wtclient: block processing failed'));
        };
        const blocks = notifier.subscribe(
          new HeightTipStore(heard),
          { connect: () => undefined, disconnect: () => undefined },
          { name: 'wtclient', onError: (err, { quiet }) => (quiet ? log.debug : log.warn).call(log, { err: err.message }, 'wtclient: block processing failed') },
        );
        started.wtclient = { client, blocks };
      }
      // One router per node: every layer that takes peer messages registers its types here (channels
      // today; gossip and onion messages next), before the router attaches to any peer.
      const router = new MessageRouter(peers, log.child({ component: 'peer' }));
      // The invoice book: signed with the node key, preimages from the seed (src/invoice/book.ts).
      const invoices = new InvoiceBook({ repo: store.invoices, network: config.network, nodeId: nodeKey.publicKey, sign: signWithKey(nodeKey.privateKey), preimageKey: InvoiceBook.preimageKey(seed) });
      started.invoices = invoices;
      // The HTLC switch: forwards checked against the announcer's policy of the outgoing channel, each
      // committed before its downstream add leaves (src/payment/forward.ts).
      const forwarder = new Forwarder({
        channels: { list: () => channels.list(), get: (id) => channels.get(id) },
        store: store.forwards,
        nodeId: nodeKey.publicKey,
        nodeKey: nodeKey.privateKey,
        chainHash: CHAIN_HASH[config.network],
        policyOf: (id) => started.announcer!.policyOf(id),
        channelUpdateOf: (id) => started.announcer!.channelUpdateOf(id),
        updateTimestamp: (scid, direction) => started.gossip?.graph.policyTimestamp(scid, direction),
        blockHeight: () => channels.blockHeight,
        log: log.child({ component: 'forward' }),
        ...(config.devCrashAfterForwardPreimage ? { afterPreimage: () => process.kill(process.pid, 'SIGKILL') } : {}),
      });
      started.forwarder = forwarder;
      // Incoming HTLCs: final ones settled against the invoice book, forwards to the switch, the rest
      // failed back correctly encrypted, unless a developer holds them.
      const intake = new HtlcIntake({
        nodeKey: nodeKey.privateKey,
        blockHeight: () => channels.blockHeight,
        log: log.child({ component: 'htlcs' }),
        invoices,
        ...(config.devCrashAfterPaid ? { afterPaid: () => process.kill(process.pid, 'SIGKILL') } : {}),
        forwarder,
      });
      started.intake = intake;
      const channels = new ChannelManager({
        router,
        keychain: keys,
        store: store.channelData,
        peers,
        // Addresses the peer connected from or was dialled at, then those it announced (node_announcement).
        peerAddresses: async (id) => [...new Set([...((await store!.peers.get(id))?.addresses ?? []), ...(started.gossip?.addressesOf(id) ?? [])])],
        wallet,
        chain,
        notifier,
        chainHash: CHAIN_HASH[config.network],
        log: log.child({ component: 'channels' }),
        config: { minimumDepth: config.fundingConfirms, toSelfDelay: config.watchtimeBlocks, maxTheirToSelfDelay: config.maxLocktimeBlocks },
        feePolicy: { maxFeeMultiplier: config.maxFeeMultiplier },
        ignoreFeeLimits: (id) => started.announcer?.ignoresFeeLimits(id) ?? false,
        // Our channel_update goes to the peer again on every reconnection (a private channel's fees reach it only so).
        reestablished: (ch) => started.announcer?.sendToPeer(ch.id),
        reconnect: !config.devNoReconnect,
        backups: started.wtclient?.client,
        incomingHtlc: config.devHoldHtlcs ? undefined : (ch, h) => void intake.receive(ch, h),
        offeredHtlcSettled: (ch, ev) => {
          // A fulfil: the channel writes no state before its preimage is recorded (returned), since after a
          // restart an HTLC gone from the channel with no outcome counts as failed. The upstream fulfil of a
          // forward is not waited for (another channel's queue).
          if (ev.preimage) {
            const logged = (what: string) => (err: Error) => {
              log.error({ err: err.message, channel: ch.id }, `${what}: recording an outcome failed`);
              throw err;
            };
            return Promise.all([payments.fulfilled(ch, ev.id, ev.preimage).catch(logged('payment')), forwarder.fulfilled(ch, ev.id, ev.preimage).catch(logged('forward'))]).then(() => undefined);
          }
          void payments.settled(ch, ev).catch((err: Error) => log.error({ err: err.message, channel: ch.id }, 'payment: recording an outcome failed'));
          void forwarder.settled(ch, ev).catch((err: Error) => log.error({ err: err.message, channel: ch.id }, 'forward: recording an outcome failed'));
        },
        preimage: (hash) => intake.preimage(hash) ?? forwarder.preimage(hash),
        // An HTLC we offered, resolved on chain (their preimage, or our timeout deep enough): to the payment or the forward it belongs to.
        offeredHtlcOnChain: (ch, ev) => {
          void payments.resolvedOnChain(ch, ev).catch((err: Error) => log.error({ err: err.message, channel: ch.id }, 'payment: recording an on-chain outcome failed'));
          void forwarder.resolvedOnChain(ch, ev).catch((err: Error) => log.error({ err: err.message, channel: ch.id }, 'forward: recording an on-chain outcome failed'));
        },
        // Incoming HTLCs on chain are claimed with any preimage we know: our fulfils, paid invoices, forwards settled downstream.
        preimages: { preimageFor: async (hash) => intake.preimage(hash) ?? forwarder.preimage(hash) ?? (await invoices.paidPreimage(hash)) },
      });
      // Payments we send: parts left in flight by the last run are resolved from the channels before any peer connects.
      // What past attempts taught (mission control), kept in the store and loaded before the first payment.
      const mission = new MissionControl({ sink: store.mission, onError: (err) => log.warn({ err: err.message }, 'mission control: writing what an attempt taught failed (kept in memory)') });
      mission.load(await store.mission.load(mission.maxEntries));
      const payments = new PaymentSender({ channels, store: store.payments, nodeId: nodeKey.publicKey, blockHeight: () => channels.blockHeight, log: log.child({ component: 'pay' }), mission });
      started.channels = channels;
      started.gossip = new Gossip({
        router,
        chain,
        notifier,
        chainHash: CHAIN_HASH[config.network],
        store: store.gossip,
        log: log.child({ component: 'gossip' }),
        // gettxout answers null for a spent (or unknown) output; a failed call leaves the question open.
        unspent: async (txid, vout) => {
          const out = await chain.call('gettxout', [txid, vout, true]).catch(() => undefined);
          return out === undefined ? undefined : out !== null;
        },
      });
      started.announcer = new Announcer({
        gossip: started.gossip,
        router,
        notifier,
        chainHash: CHAIN_HASH[config.network],
        nodeId: nodeKey.publicKey,
        signNode: (d) => secp.sign(d, nodeKey.privateKey),
        ownChannels: () => ownChannels(channels, keys),
        allChannels: () => ownChannels(channels, keys, true),
        policy: config.forwardingPolicy,
        policies: store.policies,
        alias: config.alias ?? defaultAlias(nodeKey.publicKey),
        rgb: Buffer.from(config.rgb ?? nodeKey.publicKey.toString('hex').slice(0, 6), 'hex'),
        features: INIT_FEATURES.toBytes(),
        // --addr with port 0 announces the port bound.
        addresses: () => config.announceAddrs.map((a) => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port || (peers.bound.find((b) => b.host === a.host) ?? peers.bound[0])?.port}`),
        log: log.child({ component: 'gossip' }),
      });

      // ... and when a channel becomes usable (channel_ready both ways).
      channels.watchChannels((ch, state) => state === 'CHANNELD_NORMAL' && started.announcer?.sendToPeer(ch.id));

      // Start: state loaded and handlers attached first, then the chain, then listeners last, so that no
      // peer, tower client or RPC caller arrives before what serves it exists.
      await wallet.start();
      await started.tower?.lease.start();
      await started.wtclient?.client.start();
      await channels.start();
      await invoices.start();
      // The paid invoices' preimages whose HTLCs are still in a commitment, for the HTLC deadline (the payer may never come back).
      await intake.start(channels.list());
      await payments.start();
      await forwarder.start();
      await started.gossip.start();
      await started.announcer.load();
      await config.devStartupPause?.();
      router.start();
      // Only now the peers of our channels are dialled: their first messages (channel_reestablish) need the router.
      channels.reconnectAll();
      started.announcer.start();
      notifier.start();
      await step('the peer listener, --addr', () => peers.start());
      await step('the watchtower listener, --watchtower.listen', () => started.tower?.server.start({
        listen: config.watchtower.listen,
        towerKey: keys.towerKey(),
        chainHash: CHAIN_HASH[config.network],
        store: started.tower.store,
        externalIps: config.watchtower.externalIps,
        log: log.child({ component: 'tower' }),
      }));
      // Metrics read the node at each scrape and time every API call of both shells.
      let sources: MetricsSources | undefined;
      const metrics = config.metricsListen ? (await import('../metrics/metrics.js')).createMetrics(() => sources) : undefined; // prom-client only with --metrics-listen
      // One core for every shell: CLN JSON-RPC (and anode-cli through it) and LND gRPC/REST.
      const core: NodeCore = {
        nodeId: nodeKey.publicKey,
        peers,
        peerStore: store.peers,
        channels: store.channels,
        tower: started.tower?.server,
        watchtowerClient: started.wtclient?.client,
        wallet,
        channelManager: started.channels,
        htlcs: intake,
        invoices,
        payments,
        forwards: store.forwards,
        graph: started.gossip.graph,
        policy: started.announcer,
        graphOutpoints: () => started.gossip!.outpoints(),
        privateChannelUpdates: (scid) => started.gossip!.pendingUpdatesOf(scid),
        chain,
        config: {
          network: config.network,
          dataDir: config.dataDir,
          alias: config.alias,
          rgb: config.rgb,
          defaultPort: PEER_PORTS[config.network],
          version: `v${PACKAGE_VERSION}-anode`,
        },
        stop: () => started.stop(),
        logBook: logControl(log)?.book,
        settings: new NodeSettings(config, config.argv ?? [], logControl(log)),
        rpcObserver: metrics?.observe,
        // LND's DebugLevel changes the printed level, as setconfig log-level does (the log book keeps every level).
        logLevel: levelSwitch(log),
      };
      const towerStore = started.tower?.store;
      const invoiceRows = store.invoices;
      sources = { core, invoiceCounts: () => invoiceRows.countByStatus(Math.floor(Date.now() / 1000)), ...(towerStore ? { towerCounts: () => towerStore.counts() } : {}) };
      const rpc = createClnRpc({ core, path: config.rpcFile, mode: config.rpcFileMode, developer: config.developer, log });
      await step(`open the JSON-RPC socket ${config.rpcFile}`, () => rpc.start());
      started.rpc = rpc;
      started.lnd = await step('the gRPC/REST listeners, --rpclisten/--restlisten', () => startLndRpc({
        core,
        rpcListen: config.rpcListen,
        restListen: config.restListen,
        tlsDir: config.dataDir,
        extraIps: config.tlsExtraIps,
        extraDomains: config.tlsExtraDomains,
        macaroonDir: config.dataDir,
        rootKeys: started.store.rootKeys,
        log,
      }));
      if (metrics && config.metricsListen) {
        const { startMetricsServer } = await import('../metrics/server.js');
        started.metrics = await step('the metrics listener, --metrics-listen', () => startMetricsServer(config.metricsListen!, metrics.registry));
        log.info({ address: formatAddress(started.metrics.address) }, 'metrics (Prometheus) listening at /metrics');
      }
      log.info(
        {
          nodeId: started.nodeId.toString('hex'),
          network: config.network,
          dataDir: config.dataDir,
          listening: peers.bound.map(formatAddress),
          rpc: config.rpcFile,
          grpc: started.lnd.rpc.map((a) => formatAddress(a)),
          tower: started.tower?.server.info().listeners,
          rest: started.lnd.rest.map((a) => formatAddress(a)),
          ...(started.metrics ? { metrics: formatAddress(started.metrics.address) } : {}),
        },
        `anode started: node id ${started.nodeId.toString('hex')}, listening on ${peers.bound.map(formatAddress).join(', ') || 'nothing'}`,
      );
      onLockLost(store.lockLost, redactUrl(config.wallet), (line) => {
        started.failure = line;
        log.fatal(line);
        void started.stop();
      });
      return started;
    } catch (err) {
      if (node) await node.#teardown();
      else {
        await store?.close();
        lock.release();
      }
      throw err;
    }
  }

  #stopping: Promise<void> | undefined;

  /** Peers told and disconnected, listeners closed, database closed, lock released. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.log.info('shutting down');
      await this.#teardown();
      this.log.info('stopped');
      this.#stopped();
    })();
    return this.#stopping;
  }

  /** Takes down whatever was built, in reverse order; safe on a node that was never fully started. */
  async #teardown(): Promise<void> {
    await this.metrics?.stop();
    await this.lnd?.stop();
    await this.rpc?.stop();
    await this.wtclient?.blocks.stop();
    await this.wtclient?.client.stop();
    await this.tower?.lease.stop();
    await this.tower?.lookout.stop();
    await this.tower?.server.stop();
    await this.announcer?.stop();
    await this.gossip?.stop();
    await this.channels?.stop();
    this.intake?.stop();
    this.invoices?.stop();
    await this.wallet?.stop();
    // Closing the client first ends a poll stuck retrying an unreachable backend.
    this.chain?.close();
    await this.notifier?.stop();
    await this.tower?.store.close();
    await this.peers.stop();
    await this.store.close();
    this.lock.release();
  }
}

/** A tip kept in memory that reports each height saved (adopted at start, then after every block) without waiting on it. */
class HeightTipStore extends MemoryTipStore {
  constructor(private readonly onHeight: (height: number) => void) {
    super();
  }
  override async save(tip: BlockTip): Promise<void> {
    await super.save(tip);
    this.onHeight(tip.height);
  }
}

/** Our public channels in normal operation, as the announcer sees them. */
function ownChannels(channels: ChannelManager, keys: KeyChain, withPrivate = false): OwnChannel[] {
  const out: OwnChannel[] = [];
  for (const ch of channels.list()) {
    const d = ch.data;
    const scid = d.shortChannelId === undefined ? undefined : scidFromString(d.shortChannelId);
    if ((!d.announce && !withPrivate) || d.state !== 'CHANNELD_NORMAL' || scid === undefined || d.fundingConfirmation === undefined) continue;
    const funding = new ChannelKeys(keys, d.keyIndex);
    out.push({
      channelId: d.channelId,
      peerId: d.peerId,
      scid,
      confirmations: channels.blockHeight - d.fundingConfirmation.height + 1,
      localFundingPubkey: d.local.fundingPubkey,
      remoteFundingPubkey: d.remote.fundingPubkey,
      signFunding: (digest) => secp.sign(digest, funding.fundingPrivkey),
      capacitySat: d.fundingSat,
      htlcMinimumMsat: d.remote.htlcMinimumMsat,
      htlcMaximumMsat: d.remote.maxHtlcValueInFlightMsat,
    });
  }
  return out;
}
