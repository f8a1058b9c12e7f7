import type { TestProject } from 'vitest/node';

/**
 * Vitest global setup: finds the PostgreSQL server the PostgreSQL tests use (the store contract
 * on PostgreSQL, multi-process runs). On a developer's machine without one they are skipped with
 * a one-line notice; with CI=true a missing server fails the run (CI must never skip them).
 */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL URL tests may use, or '' when there is none (tests skip). */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.PENGUINMAILS_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
  const problem = await reach(url);
  if (problem && process.env.CI === 'true') {
    throw new Error(`CI=true: the PostgreSQL tests must run, but ${redact(url)} does not answer (${problem}). Start PostgreSQL or set PENGUINMAILS_TEST_DATABASE_URL.`);
  }
  if (problem) {
    process.stderr.write(
      `\nnotice: PostgreSQL tests SKIPPED — no server at ${redact(url)} (${problem}). To run them, start PostgreSQL there or set PENGUINMAILS_TEST_DATABASE_URL=postgres://user@host:5432/db\n\n`,
    );
  }
  project.provide('postgresUrl', problem ? '' : url);
}

async function reach(url: string): Promise<string | undefined> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message || String((error as { code?: string }).code);
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:****@');
}
