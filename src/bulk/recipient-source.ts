import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { isBareAddress } from '../core/address.js';
import { UserError } from '../core/errors.js';
import { parseCsvLine } from './csv.js';

export type RecipientRow = { line: number; email: string; fields: Record<string, string> } | { line: number; error: string };

export type ListFormat = 'csv' | 'jsonl';

/** Small reads keep each stretch of row parsing short, so answers from the ESPs are not kept waiting. */
const READ_CHUNK_BYTES = 16 * 1024;

export function listFormatOf(source: string, firstLine?: string): ListFormat {
  if (/\.jsonl?$/i.test(source)) return 'jsonl';
  if (/\.csv$/i.test(source)) return 'csv';
  return firstLine?.trim().startsWith('{') ? 'jsonl' : 'csv';
}

/**
 * Reads a recipient list in chunks of rows (memory does not grow with the list; a chunk is what one
 * read of the file gives, so a caller pays for the async step once per chunk, not once per row).
 * A bad row is yielded as an error with its line number and the rest goes on; a list without an
 * email column stops.
 */
export async function* readRecipients(source: string, stdin: Readable = process.stdin): AsyncGenerator<RecipientRow[]> {
  const input = source === '-' ? stdin : createReadStream(source, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  const opened = new Promise<void>((resolve, reject) => {
    if (source === '-') return resolve();
    input.once('open', () => resolve());
    input.once('error', (error: NodeJS.ErrnoException) => reject(new UserError(`--recipients: cannot read ${source} (${error.code ?? error.message})`)));
  });
  await opened;
  if (source === '-') input.setEncoding('utf8');
  const parser = new RowParser(source);
  let partial = '';
  for await (const chunk of input as AsyncIterable<string>) {
    const { lines, rest } = splitCompleteLines(partial + chunk);
    partial = rest;
    const rows = parser.parseLines(lines);
    if (rows.length) yield rows;
  }
  const rows = parser.parseLines(partial === '' ? [] : partial.split(LINE_BREAK));
  if (rows.length) yield rows;
}

/** LF, CRLF, or a lone CR (old Mac, Excel's "CSV (Macintosh)"). */
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * The complete lines of a piece of text, and the rest after the last line break. A CR at the very
 * end stays in the rest: the next read may start with the LF of a CRLF.
 */
export function splitCompleteLines(text: string): { lines: string[]; rest: string } {
  const searchEnd = text.endsWith('\r') ? text.length - 2 : text.length - 1;
  const lastBreak = Math.max(text.lastIndexOf('\n', searchEnd), text.lastIndexOf('\r', searchEnd));
  if (searchEnd < 0 || lastBreak < 0) return { lines: [], rest: text };
  const endOfLines = text[lastBreak] === '\n' && text[lastBreak - 1] === '\r' ? lastBreak - 1 : lastBreak;
  const complete = text.slice(0, endOfLines);
  return { lines: complete.includes('\r') ? complete.split(LINE_BREAK) : complete.split('\n'), rest: text.slice(lastBreak + 1) };
}

/** Turns the lines of a list into rows: the first line decides the format, a CSV header the columns. */
class RowParser {
  private format?: ListFormat;
  private header?: string[];
  private emailColumn = -1;
  private lineNumber = 0;

  constructor(private readonly source: string) {}

  parseLines(lines: string[]): RecipientRow[] {
    const rows: RecipientRow[] = [];
    for (const rawLine of lines) {
      this.lineNumber++;
      const line = this.lineNumber === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
      if (line.trim() === '') continue;
      this.format ??= listFormatOf(this.source, line);
      if (this.format === 'csv' && !this.header) {
        this.readHeader(line);
        continue;
      }
      const row = this.format === 'csv' ? csvRow(line, this.header!, this.emailColumn) : jsonRow(line);
      if ('error' in row) rows.push({ line: this.lineNumber, error: row.error });
      else if (!isRecipientAddress(row.email)) rows.push({ line: this.lineNumber, error: `"${row.email}" is not a valid email address` });
      else rows.push({ line: this.lineNumber, email: row.email.trim(), fields: row.fields });
    }
    return rows;
  }

  private readHeader(line: string): void {
    this.header = parseCsvLine(line)?.map((h) => h.trim());
    this.emailColumn = this.header?.findIndex((h) => h.toLowerCase() === 'email') ?? -1;
    if (!this.header || this.emailColumn < 0) throw new UserError(`--recipients ${this.source}: line 1 must be a CSV header with an "email" column`, { hint: 'e.g. email,name,plan' });
  }
}

/** A bare address only: a list row is one recipient, not `Name <address>`. */
function isRecipientAddress(email: string): boolean {
  return !/[\r\n\0<>]/.test(email) && isBareAddress(email.trim());
}

function csvRow(line: string, header: string[], emailColumn: number): { email: string; fields: Record<string, string> } | { error: string } {
  const cells = parseCsvLine(line);
  if (!cells) return { error: 'unclosed quote' };
  if (cells.length !== header.length) return { error: `${cells.length} columns, the header has ${header.length}` };
  const fields: Record<string, string> = {};
  for (let i = 0; i < header.length; i++) if (i !== emailColumn) fields[header[i]] = cells[i];
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
  const { email } = value as Record<string, unknown>;
  if (typeof email !== 'string') return { error: 'no "email" string' };
  const fields: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) if (key !== 'email') fields[key] = typeof field === 'string' ? field : JSON.stringify(field);
  return { email, fields };
}
