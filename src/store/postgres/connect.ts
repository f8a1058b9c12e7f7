import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { UserError } from '../../core/errors.js';
import { redactSecrets } from '../../core/secrets.js';

export interface PostgresOptions {
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  schema: string;
  /** How the store is named in messages (never the URL: it may hold a password). */
  label: string;
}

/** Runs one statement (on the pool, or on a transaction's connection). */
export type Query = <Row extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]) => Promise<QueryResult<Row>>;

/**
 * A pool whose connections work in penguinmails' schema, with BIGINT (our times in ms, ids)
 * read as numbers: they stay far below 2^53. pg is loaded here only, so a SQLite user never loads it.
 */
export async function openPool(options: PostgresOptions): Promise<Pool> {
  const { default: pg } = await import('pg');
  const bigintAsNumber = (value: string) => Number(value);
  const { connectionString, settings } = withOurSettings(options.url, options.schema);
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize,
    statement_timeout: options.statementTimeoutMs,
    connectionTimeoutMillis: 10_000,
    application_name: 'penguinmails',
    // Unqualified table names resolve in our schema (created by the first migration).
    options: settings,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? bigintAsNumber : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection the server closed (restart, failover) must not crash the process.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw unreachable(options, error);
  }
  return pool;
}

/**
 * The connection string, and the server settings each connection starts with: our search_path,
 * after any the URL gives (`?options=-c%20synchronous_commit%3Doff`). pg lets a connection
 * string's parameters replace the config's, so a URL's `options` left in place would drop our
 * search_path and put the tables in `public`; the later `-c` wins, so ours goes last.
 */
function withOurSettings(url: string, schema: string): { connectionString: string; settings: string } {
  const ours = `-c search_path=${schema}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { connectionString: url, settings: ours };
  }
  const theirs = parsed.searchParams.get('options');
  if (theirs === null) return { connectionString: url, settings: ours };
  parsed.searchParams.delete('options');
  return { connectionString: parsed.toString(), settings: `${theirs} ${ours}` };
}

/** The store cannot be reached or used: the user's to fix (exit 2), with what PostgreSQL said. */
export function unreachable(options: PostgresOptions, error: unknown): UserError {
  const code = (error as { code?: string }).code ?? '';
  const said = redactSecrets((error as Error).message || code);
  const hint =
    code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || /timeout/i.test(said)
      ? 'is PostgreSQL running there? check the host and port in store (e.g. postgres://user@127.0.0.1:5432/db)'
      : code === '28P01' || code === '28000'
        ? 'check the user and password in store (put the URL in an environment variable: store: ${DATABASE_URL})'
        : code === '3D000'
          ? 'create that database first (createdb), or point store at one that exists'
          : code === '42501'
            ? 'that user may not create the schema or its tables: grant it, or run `penguinmails store migrate` as an owner'
            : 'check store: in the config';
  return new UserError(`cannot use the store (${options.label}): ${said}`, { hint });
}

/** SQLSTATEs after which a transaction can simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Thrown inside a transaction to run it again (a race another process won, e.g. a unique insert). */
export class RunAgain extends Error {}

/** Runs work in one transaction on one connection; serialization failures and deadlocks run it again. */
export async function inTransaction<T>(pool: Pool, work: (query: Query) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client: PoolClient = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work((text, values) => client.query(text, values));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      const again = error instanceof RunAgain || RETRYABLE.has((error as { code?: string }).code ?? '');
      if (!again || attempt >= 10) throw error;
    } finally {
      client.release(broken);
    }
  }
}
