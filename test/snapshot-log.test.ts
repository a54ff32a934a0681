/**
 * A large snapshot is not folded after every run: what later runs acknowledged stays in
 * `sync_snapshot_log`, and every reader (plan, mirror deletes, status) must see snapshot ⊕ log.
 * HIGHTOUCH_LIKE_FOLD_ALWAYS_BELOW=0 makes this 20-row snapshot behave like a large one.
 */
import { afterEach, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject;
let sink: HttpSink;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
});

// A hang guard, not a timing: its dozen CLI runs took 57 s at load 10 on 2 cores, near vitest's 60 s default.
it('reads the unfolded snapshot log as the latest acknowledged state, and folds it once it is a quarter of the snapshot', {
  timeout: 180_000,
}, async () => {
  sink = await startHttpSink({ assignIds: true });
  project = await createProject({
    'hightouch-like.config.yaml':
      'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  api: { type: http, url: "${SINK_URL}" }\n',
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmode: mirror\nmapping: { email: email }\n',
  });
  const env = { SINK_URL: sink.url, HIGHTOUCH_LIKE_FOLD_ALWAYS_BELOW: '0' };
  const run = async () => JSON.parse((await project.cli(['run', 'users', '--json'], env)).stdout)[0];
  const plan = async () => JSON.parse((await project.cli(['plan', 'users', '--json'], env)).stdout)[0];
  const query = async (text: string) => JSON.parse((await project.cli(['query', text, '--json'], env)).stdout);
  const tables = async () => ({
    snapshot: (await query('select count(*)::int as n from sync_snapshots'))[0].n,
    log: (await query('select count(*)::int as n from sync_snapshot_log'))[0].n,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(1, 21)`);

  expect(await run()).toMatchObject({ succeeded: 20 });
  // The first run folds (an empty snapshot is smaller than any log).
  expect(await tables()).toEqual({ snapshot: 20, log: 0 });

  await project.warehouse(`update users set email = 'new1@x.io' where id = 1; delete from users where id = 2`);
  expect(await run()).toMatchObject({ plan: { changed: 1, removed: 1 }, succeeded: 2 });
  // Two entries (an update and a delete) are less than a quarter of 20 rows: not folded.
  expect(await tables()).toEqual({ snapshot: 20, log: 2 });
  expect(sink.rows.has('2')).toBe(false);

  // The plan reads snapshot ⊕ log: nothing left to send, and 19 rows synced.
  expect(await plan()).toMatchObject({ changed: 0, removed: 0, added: 0, planned: 0 });
  const status = JSON.parse((await project.cli(['status', '--json'], env)).stdout);
  expect(status[0]).toMatchObject({ sync: 'users', synced_rows: 19 });

  // A key changed again is compared with its latest logged hash; a deleted key that comes back is new.
  await project.warehouse(`update users set email = 'newer1@x.io' where id = 1; insert into users values (2, 'back2@x.io')`);
  expect(await plan()).toMatchObject({ changed: 1, added: 1, removed: 0, planned: 2 });
  expect(await run()).toMatchObject({ succeeded: 2 });
  expect(sink.rows.get('1')).toEqual({ email: 'newer1@x.io' });
  expect(sink.rows.get('2')).toEqual({ email: 'back2@x.io' });
  expect(await tables()).toEqual({ snapshot: 20, log: 4 });

  // Three more changes make 7 log entries, over a quarter of the 20-row snapshot: folded.
  await project.warehouse(`update users set email = 'x' || id || '@x.io' where id in (5, 6, 7)`);
  expect(await run()).toMatchObject({ succeeded: 3 });
  expect(await tables()).toEqual({ snapshot: 20, log: 0 });
  expect(await query(`select row_hash is not null as hashed, destination_id from sync_snapshots where primary_key = '2'`)).toEqual([
    { hashed: true, destination_id: 'sink-2' },
  ]);
  expect(await plan()).toMatchObject({ planned: 0 });
  // Folded updates and inserts wrote the hash's number with its text (migration 15).
  expect(await query('select count(*)::int as n from sync_snapshots where row_hash_u64 = try_cast(row_hash as ubigint)')).toEqual([
    { n: 20 },
  ]);
});
