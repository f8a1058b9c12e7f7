import type { Pool } from 'pg';

/** Below this, host and database clocks are taken to agree (what one round trip can measure). */
const NEGLIGIBLE_SKEW_MS = 250;

/**
 * Stored times follow the database's clock, not each host's: a lease written by a host whose
 * clock runs 10 s fast must not look expired to, or outlive, another host's claim. Callers keep
 * passing their own Date.now(); the store shifts it by this host's measured offset on the way in,
 * and back on the way out, so every process compares times on one clock.
 */
export class DatabaseClock {
  private constructor(private readonly skewMs: number) {}

  /** Measures the offset once, at open (the midpoint of one round trip). */
  static async measure(pool: Pool): Promise<DatabaseClock> {
    const before = Date.now();
    const { rows } = await pool.query<{ now: number }>('SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS now');
    const after = Date.now();
    const skew = Math.round(rows[0].now - (before + after) / 2);
    return new DatabaseClock(Math.abs(skew) < NEGLIGIBLE_SKEW_MS ? 0 : skew);
  }

  get skew(): number {
    return this.skewMs;
  }

  toDatabase(hostTime: number): number {
    return hostTime + this.skewMs;
  }

  toHost(databaseTime: number): number {
    return databaseTime - this.skewMs;
  }
}
