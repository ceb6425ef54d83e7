/**
 * Mission control's knowledge (migration `0015_mission_control`): what routing/mission.ts learnt per
 * channel direction and per node, written as each attempt's outcome is learnt (one transaction per
 * attempt, before the payment goes on) and read back at start, so a restart keeps which channels just
 * failed. Bounded: `load` keeps the `max` most recently updated rows of each table and deletes the rest;
 * `save` deletes the rows mission control's own bound dropped. Integers are read through Number()
 * (PostgreSQL's driver gives a bigint as a string); msat amounts are decimal text.
 */
import type { Kysely } from 'kysely';
import type { MissionChanges, MissionNode, MissionPair, MissionSink } from '../routing/mission.js';

export type MissionPairTable = {
  pair: string;
  node_from: string | null;
  node_to: string | null;
  fail_amt_msat: string | null;
  fail_time: number | null;
  success_amt_msat: string | null;
  success_time: number | null;
  updated_at: number;
};
export type MissionNodeTable = { node_id: string; fail_time: number };
export type MissionTables = { mission_pairs: MissionPairTable; mission_nodes: MissionNodeTable };

export interface MissionRepository extends MissionSink {
  /** What was kept, least recently updated first; rows beyond the `max` latest of each kind are deleted. */
  load(max: number): Promise<{ pairs: MissionPair[]; nodes: MissionNode[] }>;
}

function fromRow(r: MissionPairTable): MissionPair {
  return {
    pair: r.pair,
    ...(r.node_from !== null && r.node_to !== null ? { from: r.node_from, to: r.node_to } : {}),
    ...(r.fail_amt_msat !== null ? { failAmtMsat: BigInt(r.fail_amt_msat), failTime: Number(r.fail_time ?? 0) } : {}),
    ...(r.success_amt_msat !== null ? { successAmtMsat: BigInt(r.success_amt_msat), successTime: Number(r.success_time ?? 0) } : {}),
  };
}

function toRow(p: MissionPair): MissionPairTable {
  return {
    pair: p.pair,
    node_from: p.from ?? null,
    node_to: p.to ?? null,
    fail_amt_msat: p.failAmtMsat === undefined ? null : p.failAmtMsat.toString(),
    fail_time: p.failAmtMsat === undefined ? null : (p.failTime ?? 0),
    success_amt_msat: p.successAmtMsat === undefined ? null : p.successAmtMsat.toString(),
    success_time: p.successAmtMsat === undefined ? null : (p.successTime ?? 0),
    updated_at: Math.max(p.failTime ?? 0, p.successTime ?? 0),
  };
}

/** `db` is the store's Kysely handle, whatever its schema type: the mission tables are added to it. */
export class SqlMissionRepository implements MissionRepository {
  readonly #db: Kysely<MissionTables>;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(db: Kysely<any>) {
    this.#db = db.withTables<MissionTables>() as unknown as Kysely<MissionTables>;
  }

  async load(max: number): Promise<{ pairs: MissionPair[]; nodes: MissionNode[] }> {
    return this.#db.transaction().execute(async (tx) => {
      const pairs = await tx.selectFrom('mission_pairs').selectAll().orderBy('updated_at', 'desc').orderBy('pair').execute();
      const nodes = await tx.selectFrom('mission_nodes').selectAll().orderBy('fail_time', 'desc').orderBy('node_id').execute();
      const oldPairs = pairs.slice(max).map((r) => r.pair);
      const oldNodes = nodes.slice(max).map((r) => r.node_id);
      if (oldPairs.length > 0) await tx.deleteFrom('mission_pairs').where('pair', 'in', oldPairs).execute();
      if (oldNodes.length > 0) await tx.deleteFrom('mission_nodes').where('node_id', 'in', oldNodes).execute();
      return {
        pairs: pairs.slice(0, max).reverse().map(fromRow),
        nodes: nodes
          .slice(0, max)
          .reverse()
          .map((r) => ({ node: r.node_id, failTime: Number(r.fail_time) })),
      };
    });
  }

  async save(c: MissionChanges): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      for (const p of c.pairs) {
        const row = toRow(p);
        const { pair: _, ...rest } = row;
        await tx.insertInto('mission_pairs').values(row).onConflict((oc) => oc.column('pair').doUpdateSet(rest)).execute();
      }
      for (const n of c.nodes) {
        await tx.insertInto('mission_nodes').values({ node_id: n.node, fail_time: n.failTime }).onConflict((oc) => oc.column('node_id').doUpdateSet({ fail_time: n.failTime })).execute();
      }
      if (c.droppedPairs.length > 0) await tx.deleteFrom('mission_pairs').where('pair', 'in', c.droppedPairs).execute();
      if (c.droppedNodes.length > 0) await tx.deleteFrom('mission_nodes').where('node_id', 'in', c.droppedNodes).execute();
    });
  }

  async reset(): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      await tx.deleteFrom('mission_pairs').execute();
      await tx.deleteFrom('mission_nodes').execute();
    });
  }
}
