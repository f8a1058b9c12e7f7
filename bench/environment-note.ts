import { readFileSync } from 'node:fs';

/**
 * What in the environment weighs on every Node process measured, floors included: Node 20 reads
 * NODE_EXTRA_CA_CERTS at start, parsing every certificate of the file and building its root store
 * before any script runs (a 144-certificate bundle: ~420 M instructions, ~40–45 ms, per process on the
 * 2-core VM these benchmarks were written on; bare `node -e ''` is 88 M instructions without it).
 * The figures are kept as measured; this line says so.
 */
export function environmentNote(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  let certificates = '?';
  try {
    certificates = String(readFileSync(file, 'latin1').split('-----BEGIN CERTIFICATE-----').length - 1);
  } catch {
    // Unreadable: Node warns at start and goes on.
  }
  return `note: NODE_EXTRA_CA_CERTS=${file} (${certificates} certificates) is set: every Node process here, floors included, parses it at start (Node 20 does so before any script runs; ~40–45 ms a process where this was written)`;
}
