/**
 * The local PostgreSQL the tests use (127.0.0.1:5432, trust, user postgres, db test), and an admin
 * client connected for the whole test file: tests make their own schemas with it and read the results.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

export const PG_BASE = 'postgres://postgres@127.0.0.1:5432/test';

/** A client connected before the file's tests and closed after them. */
export function usePgAdmin(): pg.Client {
  const admin = new pg.Client(PG_BASE);
  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
  });
  return admin;
}
