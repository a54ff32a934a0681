/**
 * Several `serve` processes starting at once on one PostgreSQL state create the same pg-boss queues
 * together. pg-boss's create_queue inserts the queue row and then adds a foreign key to that table in
 * one transaction, so two of them on one new queue deadlock (SQLSTATE 40P01: the second's insert waits
 * for the first's row, the first's foreign key waits for the second's insert). Seen once in 5 clean-clone
 * runs of serve-fleet.test.ts; here 3 fleets × 12 queues start at the same instant, 3 rounds.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ProjectConfig } from '../core/config/types.js';
import { Fleet } from '../core/service/fleet.js';
import { openStateStore, type StateStore } from '../core/state/state-store.js';

const BASE = 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Client(BASE);
const schemas: string[] = [];

beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.end();
});

it('three fleets starting at once on a new queue schema all start', { timeout: 120_000 }, async () => {
  for (let round = 0; round < 3; round++) {
    const tag = `${process.pid}_${Date.now()}_${round}`;
    const stateSchema = `ht_fs_${tag}`;
    const queueSchema = `ht_fsq_${tag}`;
    schemas.push(stateSchema, queueSchema);
    await admin.query(`create schema ${stateSchema}`);
    const url = `${BASE}?options=${encodeURIComponent(`-c search_path=${stateSchema}`)}`;
    const syncs = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`s${i}`, {}]));
    const project = {
      file: 'hightouch-like.config.yaml',
      state: { type: 'postgres', url },
      service: { takeoverSeconds: 600, queueSchema },
      syncs,
    } as unknown as ProjectConfig & { state: { type: 'postgres'; url: string } };
    const stores: StateStore[] = [];
    const fleets: Fleet[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const store = await openStateStore(project);
        stores.push(store);
        fleets.push(new Fleet({ project, store, runJob: async () => {}, onError: () => {} }));
      }
      const results = await Promise.allSettled(fleets.map((fleet) => fleet.start()));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(failures).toEqual([]);
      const queues = await admin.query(`select count(*)::int as n from ${queueSchema}.queue`);
      expect(queues.rows[0].n).toBe(12);
    } finally {
      for (const fleet of fleets) await fleet.stop().catch(() => {});
      for (const store of stores) await store.close();
    }
  }
});
