import type { Pool } from 'pg';
import { UserError } from '../../core/errors.js';
import type { SchemaReport } from '../ports.js';
import { inTransaction } from './connect.js';
import { MIGRATIONS } from './schema.js';

/** Migrations this call applied are none when another process had already applied them. */
export type MigrationReport = SchemaReport;

/**
 * Brings the schema up to date. Runs under a transaction-scoped advisory lock, so processes
 * starting together migrate once: the others wait, then find nothing left to do.
 */
export async function migrate(pool: Pool, schema: string): Promise<MigrationReport> {
  return inTransaction(pool, async (query) => {
    await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`penguinmails:migrate:${schema}`]);
    await query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const { rows } = await query<{ version: number | null }>(`SELECT max(version) AS version FROM ${schema}.schema_migrations`);
    const current = rows[0].version ?? 0;
    if (current > LATEST_VERSION) {
      throw new UserError(`the store's schema ${schema} is at version ${current}, newer than this penguinmails knows (${LATEST_VERSION})`, {
        hint: 'upgrade penguinmails on this machine: every process sharing a store must run a version that knows its schema',
      });
    }
    const applied: MigrationReport['applied'] = [];
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      await query(migration.sql);
      await query(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push({ version: migration.version, name: migration.name });
    }
    const version = Math.max(current, ...applied.map((m) => m.version));
    return { version, applied };
  });
}

/** The schema's version when it is this program's, without changing anything; else a UserError. */
export async function currentSchema(pool: Pool, schema: string, label: string): Promise<MigrationReport> {
  let version = 0;
  try {
    const { rows } = await pool.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${schema}.schema_migrations`);
    version = rows[0].version ?? 0;
  } catch (error) {
    // 42P01: no such table (nothing of penguinmails there yet); 3F000: no such schema.
    if (!['42P01', '3F000'].includes((error as { code?: string }).code ?? '')) throw error;
  }
  if (version !== LATEST_VERSION) {
    throw new UserError(`${label} is at schema version ${version}, not this penguinmails's ${LATEST_VERSION}, and this command does not migrate it`, {
      hint: 'penguinmails store migrate brings it up to date (every process sharing it must know the new version)',
    });
  }
  return { version, applied: [] };
}

/** The newest schema version this program knows. */
export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
