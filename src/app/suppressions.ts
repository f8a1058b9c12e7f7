import { isBareAddress } from '../core/address.js';
import { UserError } from '../core/errors.js';
import { parseCsvRecord } from '../lists/csv.js';
import type { Suppression, SuppressionRepository } from '../store/ports.js';

/**
 * The suppression list by hand (`suppressions list | add | remove | import | export`): checked
 * input in, store records out. Sends read the list through suppression-check.ts.
 */

/** A recipient address as the list keeps it (bare, lower-cased); anything else is a usage error. */
export function checkedAddress(text: string, what = 'address'): string {
  const address = text.trim();
  if (!isBareAddress(address)) throw new UserError(`${what}: "${text}" is not an email address`, { hint: 'give a bare address such as ada@example.com; nothing was changed' });
  return address.toLowerCase();
}

/**
 * A suppression's scope as the list keeps it: '*' (every sending domain, the default: unset, empty
 * or '*') or one From domain, lower-cased (a leading @ is dropped); undefined when it is neither.
 * `suppressions add/remove --scope` and the HTTP API share this rule.
 */
export function scopeOf(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '' || text.trim() === '*') return '*';
  const domain = text.trim().replace(/^@/, '').toLowerCase();
  return isBareAddress(`x@${domain}`) ? domain : undefined;
}

export const SCOPE_HINT = 'give the domain of a From address (e.g. news.example.com), or "*" for every sending domain';

/** '*' or one From domain (scopeOf); anything else is a usage error naming --scope. */
export function checkedScope(text: string | undefined): string {
  const scope = scopeOf(text);
  if (scope === undefined) throw new UserError(`--scope: "${text}" is not a domain`, { hint: `${SCOPE_HINT}; nothing was changed` });
  return scope;
}

/** Adds one address by hand; false when it was on the list in that scope already (that record stays). */
export async function addSuppression(store: SuppressionRepository, input: { address: string; scope?: string; reason?: string }, now = Date.now()): Promise<{ suppression: Suppression; added: boolean }> {
  const suppression: Suppression = { address: checkedAddress(input.address), scope: checkedScope(input.scope), reason: input.reason?.trim() || 'added by hand', source: 'manual', createdAt: now };
  const added = (await store.addSuppressions([suppression])) === 1;
  return { suppression, added };
}

/** Takes an address off the list (one scope, or every scope); an address not on it is a usage error. */
export async function removeSuppression(store: SuppressionRepository, addressText: string, scopeText?: string): Promise<number> {
  const address = checkedAddress(addressText);
  const scope = scopeText === undefined ? undefined : checkedScope(scopeText);
  const removed = await store.removeSuppression(address, scope);
  if (removed > 0) return removed;
  const elsewhere = (await store.listSuppressions()).filter((s) => s.address === address).map((s) => s.scope);
  throw new UserError(
    `${address} is not on the suppression list${scope ? ` for ${scope === '*' ? 'every sending domain (*)' : scope}` : ''}`,
    { hint: elsewhere.length ? `it is listed for: ${elsewhere.join(', ')} (give that --scope, or none to remove it everywhere)` : 'nothing was changed; the suppression list (suppressions list, GET /api/v1/suppressions) shows every address and scope' },
  );
}

/** One problem of an import file, by line. */
export interface ImportProblem {
  line: number;
  message: string;
}

/** Problems listed in the error at most (the count says how many more). */
const PROBLEMS_SHOWN = 20;

/**
 * Reads a suppression CSV: columns address[,scope,reason], with or without a header row (a
 * header may name them in any order, and may add `source`; other columns, such as export's
 * created_at, are ignored). All or nothing: a file with any bad row is refused whole, every bad
 * row named by its line, so a fixed file can simply be imported again.
 */
export function parseSuppressionCsv(text: string, now = Date.now()): Suppression[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const problems: ImportProblem[] = [];
  const suppressions: Suppression[] = [];
  let columns: { address: number; scope?: number; reason?: number; source?: number } | undefined;
  let headerless = false;
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const record = parseCsvRecord(raw);
    if (!record) return void problems.push({ line, message: 'a quoted field is not closed' });
    const cells = record.cells;
    if (!columns) {
      const header = cells.map((c) => c.toLowerCase());
      const address = header.findIndex((c) => c === 'address' || c === 'email');
      const at = (name: string) => (header.includes(name) ? header.indexOf(name) : undefined);
      if (address >= 0) return void (columns = { address, scope: at('scope'), reason: at('reason'), source: at('source') });
      columns = { address: 0, scope: 1, reason: 2 };
      headerless = true;
    }
    if (headerless && cells.length > 3) return void problems.push({ line, message: `${cells.length} columns; expected address[,scope,reason] (or a header row naming the columns)` });
    const cell = (i: number | undefined) => (i === undefined ? '' : (cells[i] ?? '').trim());
    const address = cell(columns.address);
    if (!isBareAddress(address)) return void problems.push({ line, message: address ? `"${address}" is not an email address` : 'no address' });
    let scope: string;
    try {
      scope = checkedScope(cell(columns.scope));
    } catch {
      return void problems.push({ line, message: `scope "${cell(columns.scope)}" is not a domain (or * for every sending domain)` });
    }
    suppressions.push({ address: address.toLowerCase(), scope, reason: cell(columns.reason) || 'imported', source: cell(columns.source) || 'import', createdAt: now });
  });
  if (problems.length) {
    const shown = problems.slice(0, PROBLEMS_SHOWN).map((p) => `line ${p.line}: ${p.message}`);
    if (problems.length > PROBLEMS_SHOWN) shown.push(`… and ${problems.length - PROBLEMS_SHOWN} more`);
    throw new UserError(`the file has ${problems.length} bad row${problems.length === 1 ? '' : 's'}; nothing was imported:\n  ${shown.join('\n  ')}`, { hint: 'fix those rows (columns: address[,scope,reason]) and import the file again' });
  }
  return suppressions;
}

/** Imports checked rows in one store call (one transaction); returns how many were new. */
export async function importSuppressions(store: SuppressionRepository, suppressions: Suppression[]): Promise<{ rows: number; added: number }> {
  const added = suppressions.length ? await store.addSuppressions(suppressions) : 0;
  return { rows: suppressions.length, added };
}

const EXPORT_COLUMNS = ['address', 'scope', 'reason', 'source', 'created_at'] as const;

/** The list as CSV (header first): `suppressions import` reads it back. */
export function suppressionsCsv(suppressions: Suppression[]): string {
  const rows = suppressions.map((s) => [s.address, s.scope, s.reason, s.source, new Date(s.createdAt).toISOString()].map(csvCell).join(','));
  return [EXPORT_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** One cell, quoted when it needs to be; a line break becomes a space (import reads one row per line). */
function csvCell(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return /[",]/.test(flat) ? `"${flat.replace(/"/g, '""')}"` : flat;
}
