import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** The test PostgreSQL server's URL, or '' when none answers (the global setup said so once). */
export function testPostgresUrl(): string {
  return inject('postgresUrl');
}

/**
 * A schema of its own for one test file's stores (penguinmails creates it on first open); drop()
 * removes it and everything in it.
 */
export function freshSchema(prefix = 'pm_test'): { name: string; drop: () => Promise<void> } {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    name,
    drop: async () => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: testPostgresUrl() });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** StoreSettings for a PostgreSQL store in one schema of the test server. */
export function postgresSettings(schema: string, poolSize = 4) {
  return { kind: 'postgres' as const, url: testPostgresUrl(), poolSize, statementTimeoutMs: 30_000, schema, label: `test schema ${schema}` };
}
