/** Network errors, and PostgreSQL's connection exceptions (class 08), shutdowns (57P01–57P03) and full connection slots (53300). */
const UNREACHABLE_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|08...|57P0[123]|53300)$/;

/** An error of the store's connection, not of what was asked of it: worth asking again shortly. */
export function isStoreUnreachable(error: Error & { code?: unknown }): boolean {
  if (typeof error.code === 'string' && UNREACHABLE_CODES.test(error.code)) return true;
  // pg's own words when a connection goes away or cannot be had in time.
  return /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(error.message);
}
