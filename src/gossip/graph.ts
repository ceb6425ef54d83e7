/**
 * The channel graph in memory, compact enough for mainnet (about 15,000 nodes and 50,000 channels):
 * channels are rows of typed arrays (a free list reuses removed rows), each with two directed policies;
 * nodes are rows too, with their channel rows as adjacency lists. Only node announcements (features,
 * alias, colour, addresses) are objects, one per announced node.
 *
 * Read API for a pathfinder (all by row number, no allocation per edge):
 * - `nodeIndex(id)` / `nodeId(i)`: a node's row from its 33-byte id (hex) and back;
 * - `forEachEdge(node, fn)`: every channel out of `node` as `(channel, direction, peer)`, where
 *   `direction` is 0 when `node` is node_id_1 — the direction of the policy that prices the hop;
 * - `policy(channel, direction)`: that direction's `channel_update` (fees, CLTV delta, HTLC limits,
 *   disabled) or undefined before one was seen; `readPolicy` the same as numbers into a caller's
 *   object (no allocation); `capacitySat(channel)`, `scid(channel)`;
 * - `nodeInfo(id)`: its announcement (features, alias, colour, addresses) if any;
 * - `channel(scid)` / `channels()` / `nodes()`: whole views for the APIs (allocating).
 */
import type { AnnouncedAddress } from './address.js';

export interface Policy {
  timestamp: number;
  /** channel_flags of the update (bit 0 direction, bit 1 disabled). */
  channelFlags: number;
  messageFlags: number;
  disabled: boolean;
  cltvExpiryDelta: number;
  htlcMinimumMsat: bigint;
  htlcMaximumMsat: bigint;
  feeBaseMsat: number;
  feeProportionalMillionths: number;
}

export interface NodeInfo {
  nodeId: string;
  timestamp: number;
  features: Buffer;
  alias: string;
  /** 6 hex digits. */
  rgb: string;
  addresses: AnnouncedAddress[];
}

export interface ChannelInfo {
  scid: bigint;
  node1: string;
  node2: string;
  capacitySat: bigint;
  /** The channel_announcement's features (empty for almost every channel). */
  features: Buffer;
  policies: [Policy | undefined, Policy | undefined];
}

/** What {@link ChannelGraph.readPolicy} fills in. */
export interface PolicyNumbers {
  disabled: boolean;
  cltvExpiryDelta: number;
  htlcMinimumMsat: number;
  htlcMaximumMsat: number;
  feeBaseMsat: number;
  feeProportionalMillionths: number;
}

const HAS_POLICY = 0x80;

export class ChannelGraph {
  // Nodes.
  readonly #nodeRow = new Map<string, number>();
  #nodeIds: string[] = [];
  #adjacency: number[][] = [];
  readonly #info = new Map<string, NodeInfo>();
  // Channels.
  readonly #rowOf = new Map<bigint, number>();
  /** Announcement features, only of the channels that have any (nearly none do). */
  readonly #features = new Map<bigint, Buffer>();
  #free: number[] = [];
  #rows = 0;
  #cap = 0;
  #scid = new BigUint64Array(0);
  #node1 = new Uint32Array(0);
  #node2 = new Uint32Array(0);
  #capacity = new Float64Array(0);
  // Per direction (row * 2 + dir).
  #ts = new Uint32Array(0);
  #flags = new Uint8Array(0);
  #msgFlags = new Uint8Array(0);
  #cltv = new Uint16Array(0);
  #feeBase = new Uint32Array(0);
  #feeProp = new Uint32Array(0);
  #htlcMin = new Float64Array(0);
  #htlcMax = new Float64Array(0);

  constructor(initialChannels = 1024) {
    this.#grow(initialChannels);
  }

  get channelCount(): number {
    return this.#rowOf.size;
  }

  get nodeCount(): number {
    return this.#nodeRow.size;
  }

  #grow(min: number): void {
    const cap = Math.max(min, this.#cap * 2, 16);
    const g = <T extends { length: number; set(a: ArrayLike<number | bigint>): void }>(old: T, ctor: new (n: number) => T, n: number): T => {
      const a = new ctor(n);
      a.set(old as unknown as ArrayLike<number>);
      return a;
    };
    const scid = new BigUint64Array(cap);
    scid.set(this.#scid);
    this.#scid = scid;
    this.#node1 = g(this.#node1, Uint32Array, cap);
    this.#node2 = g(this.#node2, Uint32Array, cap);
    this.#capacity = g(this.#capacity, Float64Array, cap);
    this.#ts = g(this.#ts, Uint32Array, cap * 2);
    this.#flags = g(this.#flags, Uint8Array, cap * 2);
    this.#msgFlags = g(this.#msgFlags, Uint8Array, cap * 2);
    this.#cltv = g(this.#cltv, Uint16Array, cap * 2);
    this.#feeBase = g(this.#feeBase, Uint32Array, cap * 2);
    this.#feeProp = g(this.#feeProp, Uint32Array, cap * 2);
    this.#htlcMin = g(this.#htlcMin, Float64Array, cap * 2);
    this.#htlcMax = g(this.#htlcMax, Float64Array, cap * 2);
    this.#cap = cap;
  }

  #node(id: string): number {
    let i = this.#nodeRow.get(id);
    if (i === undefined) {
      i = this.#nodeIds.length;
      this.#nodeIds.push(id);
      this.#adjacency.push([]);
      this.#nodeRow.set(id, i);
    }
    return i;
  }

  nodeIndex(id: string): number | undefined {
    return this.#nodeRow.get(id);
  }

  nodeId(row: number): string {
    return this.#nodeIds[row]!;
  }

  hasChannel(scid: bigint): boolean {
    return this.#rowOf.has(scid);
  }

  /** Adds an announced channel (idempotent). node1 sorts before node2 (hex ids); `features` are its announcement's. */
  addChannel(scid: bigint, node1: string, node2: string, capacitySat: bigint, features?: Buffer): void {
    if (this.#rowOf.has(scid)) return;
    if (features && features.length > 0) this.#features.set(scid, Buffer.from(features));
    let row = this.#free.pop();
    if (row === undefined) {
      if (this.#rows === this.#cap) this.#grow(this.#rows + 1);
      row = this.#rows++;
    }
    const a = this.#node(node1);
    const b = this.#node(node2);
    this.#scid[row] = scid;
    this.#node1[row] = a;
    this.#node2[row] = b;
    this.#capacity[row] = Number(capacitySat);
    this.#flags[row * 2] = 0;
    this.#flags[row * 2 + 1] = 0;
    this.#ts[row * 2] = 0;
    this.#ts[row * 2 + 1] = 0;
    this.#adjacency[a]!.push(row);
    this.#adjacency[b]!.push(row);
    this.#rowOf.set(scid, row);
  }

  /** Removes a channel; a node left without channels keeps its row but loses its announcement. */
  removeChannel(scid: bigint): boolean {
    const row = this.#rowOf.get(scid);
    if (row === undefined) return false;
    this.#rowOf.delete(scid);
    this.#features.delete(scid);
    for (const n of [this.#node1[row]!, this.#node2[row]!]) {
      const adj = this.#adjacency[n]!;
      const k = adj.indexOf(row);
      if (k >= 0) adj.splice(k, 1);
      if (adj.length === 0) this.#info.delete(this.#nodeIds[n]!);
    }
    this.#flags[row * 2] = 0;
    this.#flags[row * 2 + 1] = 0;
    this.#free.push(row);
    return true;
  }

  /** Sets one direction's policy (the caller checked it is newer). */
  setPolicy(scid: bigint, p: Omit<Policy, 'disabled'>): boolean {
    const row = this.#rowOf.get(scid);
    if (row === undefined) return false;
    const k = row * 2 + (p.channelFlags & 1);
    this.#ts[k] = p.timestamp;
    this.#flags[k] = HAS_POLICY | (p.channelFlags & 0x7f);
    this.#msgFlags[k] = p.messageFlags;
    this.#cltv[k] = p.cltvExpiryDelta;
    this.#feeBase[k] = p.feeBaseMsat;
    this.#feeProp[k] = p.feeProportionalMillionths;
    this.#htlcMin[k] = Number(p.htlcMinimumMsat);
    this.#htlcMax[k] = Number(p.htlcMaximumMsat);
    return true;
  }

  /** Timestamp of a direction's latest update, 0 if none. */
  policyTimestamp(scid: bigint, direction: 0 | 1): number {
    const row = this.#rowOf.get(scid);
    return row === undefined ? 0 : this.#ts[row * 2 + direction]!;
  }

  /** Drops one direction's policy (stale update pruning). */
  clearPolicy(scid: bigint, direction: 0 | 1): void {
    const row = this.#rowOf.get(scid);
    if (row !== undefined) this.#flags[row * 2 + direction] = 0;
  }

  row(scid: bigint): number | undefined {
    return this.#rowOf.get(scid);
  }

  scid(row: number): bigint {
    return this.#scid[row]!;
  }

  capacitySat(row: number): number {
    return this.#capacity[row]!;
  }

  /** Every channel row of `node` as (row, direction out of node, the other node's row). */
  forEachEdge(node: number, fn: (row: number, direction: 0 | 1, peer: number) => void): void {
    for (const row of this.#adjacency[node] ?? []) {
      const dir = this.#node1[row] === node ? 0 : 1;
      fn(row, dir, dir === 0 ? this.#node2[row]! : this.#node1[row]!);
    }
  }

  policy(row: number, direction: 0 | 1): Policy | undefined {
    const k = row * 2 + direction;
    const f = this.#flags[k]!;
    if ((f & HAS_POLICY) === 0) return undefined;
    return {
      timestamp: this.#ts[k]!,
      channelFlags: f & 0x7f,
      messageFlags: this.#msgFlags[k]!,
      disabled: (f & 2) !== 0,
      cltvExpiryDelta: this.#cltv[k]!,
      htlcMinimumMsat: BigInt(this.#htlcMin[k]!),
      htlcMaximumMsat: BigInt(this.#htlcMax[k]!),
      feeBaseMsat: this.#feeBase[k]!,
      feeProportionalMillionths: this.#feeProp[k]!,
    };
  }

  /**
   * A direction's policy as plain numbers into `out` (no allocation, for the pathfinder's inner loop);
   * false when the direction has no update. HTLC limits are msat as doubles (exact below 2⁵³).
   */
  readPolicy(row: number, direction: 0 | 1, out: PolicyNumbers): boolean {
    const k = row * 2 + direction;
    const f = this.#flags[k]!;
    if ((f & HAS_POLICY) === 0) return false;
    out.disabled = (f & 2) !== 0;
    out.cltvExpiryDelta = this.#cltv[k]!;
    out.htlcMinimumMsat = this.#htlcMin[k]!;
    out.htlcMaximumMsat = this.#htlcMax[k]!;
    out.feeBaseMsat = this.#feeBase[k]!;
    out.feeProportionalMillionths = this.#feeProp[k]!;
    return true;
  }

  setNodeInfo(info: NodeInfo): void {
    this.#node(info.nodeId);
    this.#info.set(info.nodeId, info);
  }

  nodeInfo(id: string): NodeInfo | undefined {
    return this.#info.get(id);
  }

  /** True when `id` has at least one channel in the graph (BOLT 7: announce nodes only then). */
  hasChannels(id: string): boolean {
    const i = this.#nodeRow.get(id);
    return i !== undefined && this.#adjacency[i]!.length > 0;
  }

  channel(scid: bigint): ChannelInfo | undefined {
    const row = this.#rowOf.get(scid);
    if (row === undefined) return undefined;
    return {
      scid,
      node1: this.#nodeIds[this.#node1[row]!]!,
      node2: this.#nodeIds[this.#node2[row]!]!,
      capacitySat: BigInt(this.#capacity[row]!),
      features: this.#features.get(scid) ?? Buffer.alloc(0),
      policies: [this.policy(row, 0), this.policy(row, 1)],
    };
  }

  channels(): ChannelInfo[] {
    return [...this.#rowOf.keys()].map((s) => this.channel(s)!);
  }

  /** Scids in ascending order, optionally only those whose block is in [first, first + count). */
  scids(firstBlock = 0, blocks = 0x1_0000_0000): bigint[] {
    const lo = BigInt(firstBlock) << 40n;
    const hi = BigInt(firstBlock + blocks) << 40n;
    return [...this.#rowOf.keys()].filter((s) => s >= lo && s < hi).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  nodes(): NodeInfo[] {
    return [...this.#info.values()];
  }

  /** Every node with at least one channel. */
  nodeIds(): string[] {
    return this.#nodeIds.filter((_, i) => this.#adjacency[i]!.length > 0);
  }

  /** Directions whose latest update is older than `before` (unix seconds). */
  stalePolicies(before: number): { scid: bigint; direction: 0 | 1 }[] {
    const out: { scid: bigint; direction: 0 | 1 }[] = [];
    for (const [scid, row] of this.#rowOf) {
      for (const d of [0, 1] as const) {
        const k = row * 2 + d;
        if ((this.#flags[k]! & HAS_POLICY) !== 0 && this.#ts[k]! < before) out.push({ scid, direction: d });
      }
    }
    return out;
  }
}
