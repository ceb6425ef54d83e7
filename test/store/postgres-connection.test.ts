/**
 * A PostgreSQL connection that breaks under the node (server restarted, backend terminated, network
 * cut) fails the queries on it and nothing else: not an uncaught exception that takes the process down,
 * whether the connection was idle in the pool or lent out between two queries of a transaction; and
 * the next query gets a new connection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { usePostgres } from '../harness/postgres.js';
import { createPool } from '../../src/store/postgres.js';

const postgres = usePostgres('broken PostgreSQL connections');

async function terminate(url: string, pids: number[]): Promise<void> {
  const admin = new pg.Client(url);
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  } finally {
    await admin.end();
  }
}

const pidOf = async (c: pg.PoolClient): Promise<number> => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

describe('broken PostgreSQL connections', { skip: postgres.skip }, () => {
  it('a lent-out connection that breaks fails its query, raises nothing uncaught, and the pool recovers', async () => {
    const url = await postgres.fresh();
    const p = createPool(url, 2);
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const lent = await p.pool.connect();
      await lent.query('BEGIN');
      const idle = await p.pool.connect();
      const ended = [lent, idle].map((c) => new Promise((resolve) => c.once('end', resolve)));
      const pids = [await pidOf(lent), await pidOf(idle)];
      idle.release(); // one idle in the pool as well
      await terminate(url, pids);
      await Promise.all(ended);
      await new Promise((r) => setImmediate(r));
      await assert.rejects(lent.query('SELECT 1'), 'a query on the broken connection fails');
      lent.release();
      assert.deepEqual(uncaught, [], 'nothing uncaught');
      const { rows } = await p.pool.query<{ one: number }>('SELECT 1 AS one');
      assert.equal(rows[0]!.one, 1, 'the pool serves the next query on a new connection');
    } finally {
      process.off('uncaughtException', onUncaught);
      await p.pool.end();
    }
  });
});
