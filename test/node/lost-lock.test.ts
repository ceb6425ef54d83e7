/**
 * A daemon on PostgreSQL that loses its exclusive database lock stops: the lock's backend is terminated
 * (`pg_terminate_backend`, as a server restart or a broken connection would end it), and the daemon logs
 * one line saying so and exits non-zero, rather than running on while another node may take the lock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { startDaemon, tempDir } from '../harness/daemon.js';
import { usePostgres } from '../harness/postgres.js';

const pg_ = usePostgres('a daemon losing its database lock');

describe('a daemon that loses its PostgreSQL lock', { skip: pg_.skip, timeout: 120_000 }, () => {
  it('logs one line and exits non-zero once the lock session is terminated', async () => {
    const url = await pg_.fresh();
    const d = await startDaemon([`--wallet=${url}`], tempDir('anode-pg-lock-'));
    try {
      const admin = new pg.Client(await pg_.database());
      await admin.connect();
      try {
        // The node's session lock (pg_try_advisory_lock) in this test's database: the one backend holding an advisory lock.
        const held = await admin.query<{ pid: number }>(
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        );
        assert.equal(held.rows.length, 1, 'the node holds one advisory lock');
        assert.equal(d.running(), true);
        await admin.query('SELECT pg_terminate_backend($1)', [held.rows[0]!.pid]);
      } finally {
        await admin.end();
      }
      const code = await Promise.race([d.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000).unref())]);
      assert.notEqual(code, 'running', 'the daemon stopped');
      assert.notEqual(code, 0, 'and exited non-zero');
      const lines = d.output().split('\n').filter((l) => l.includes('lost the exclusive lock on the database'));
      assert.equal(lines.length, 1, d.output().slice(-2000));
      assert.ok(!lines[0]!.includes('anode:anode@'), 'the password is not logged');
    } finally {
      if (d.running()) await d.kill();
    }
  });
});
