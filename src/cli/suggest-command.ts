import type { GlobalOptions } from './output.js';

/**
 * A penguinmails command to suggest in a hint. It carries the `--config` the user gave, or the
 * suggestion would run against another config (and another outbox) than the one just used.
 */
export function suggestCommand(rest: string, globals: Pick<GlobalOptions, 'config'>): string {
  return `penguinmails ${rest}${globals.config ? ` --config ${shellQuote(globals.config)}` : ''}`;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
