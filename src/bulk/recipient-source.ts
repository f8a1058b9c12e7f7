import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseAddress } from '../core/address.js';
import { UserError } from '../core/errors.js';
import { parseCsvLine } from './csv.js';

export type RecipientRow = { line: number; email: string; fields: Record<string, string> } | { line: number; error: string };

export type ListFormat = 'csv' | 'jsonl';

export function listFormatOf(source: string, firstLine?: string): ListFormat {
  if (/\.jsonl?$/i.test(source)) return 'jsonl';
  if (/\.csv$/i.test(source)) return 'csv';
  return firstLine?.trim().startsWith('{') ? 'jsonl' : 'csv';
}

/**
 * Reads a recipient list line by line (memory does not grow with the list). A bad row is yielded
 * as an error with its line number and the rest goes on; a list without an email column stops.
 */
export async function* readRecipients(source: string, stdin: Readable = process.stdin): AsyncGenerator<RecipientRow> {
  const input = source === '-' ? stdin : createReadStream(source, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    if (source === '-') return resolve();
    input.once('open', () => resolve());
    input.once('error', (error: NodeJS.ErrnoException) => reject(new UserError(`--recipients: cannot read ${source} (${error.code ?? error.message})`)));
  });
  await opened;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let format: ListFormat | undefined;
  let header: string[] | undefined;
  let emailColumn = -1;
  let lineNumber = 0;
  for await (const rawLine of lines) {
    lineNumber++;
    const line = lineNumber === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (line.trim() === '') continue;
    format ??= listFormatOf(source, line);
    if (format === 'csv' && !header) {
      header = parseCsvLine(line)?.map((h) => h.trim());
      emailColumn = header?.findIndex((h) => h.toLowerCase() === 'email') ?? -1;
      if (!header || emailColumn < 0) throw new UserError(`--recipients ${source}: line 1 must be a CSV header with an "email" column`, { hint: 'e.g. email,name,plan' });
      continue;
    }
    const row = format === 'csv' ? csvRow(line, header!, emailColumn) : jsonRow(line);
    if ('error' in row) yield { line: lineNumber, error: row.error };
    else if (!parseAddress(row.email) || /[<>]/.test(row.email)) yield { line: lineNumber, error: `"${row.email}" is not a valid email address` };
    else yield { line: lineNumber, email: row.email, fields: row.fields };
  }
}

function csvRow(line: string, header: string[], emailColumn: number): { email: string; fields: Record<string, string> } | { error: string } {
  const cells = parseCsvLine(line);
  if (!cells) return { error: 'unclosed quote' };
  if (cells.length !== header.length) return { error: `${cells.length} columns, the header has ${header.length}` };
  const fields: Record<string, string> = {};
  header.forEach((name, i) => {
    if (i !== emailColumn) fields[name] = cells[i];
  });
  return { email: cells[emailColumn], fields };
}

function jsonRow(line: string): { email: string; fields: Record<string, string> } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'not valid JSON' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: 'not a JSON object' };
  const { email, ...rest } = value as Record<string, unknown>;
  if (typeof email !== 'string') return { error: 'no "email" string' };
  const fields: Record<string, string> = {};
  for (const [key, field] of Object.entries(rest)) fields[key] = typeof field === 'string' ? field : JSON.stringify(field);
  return { email, fields };
}
