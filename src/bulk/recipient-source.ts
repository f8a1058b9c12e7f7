import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { isBareAddress } from '../core/address.js';
import { isSystemErrorCode, UserError } from '../core/errors.js';
import { parseCsvLine, parseCsvRecord } from './csv.js';

export type RecipientRow = { line: number; email: string; fields: Record<string, string> } | { line: number; error: string };

export type ListFormat = 'csv' | 'jsonl';

/** Small reads keep each stretch of row parsing short, so answers from the ESPs are not kept waiting. */
const READ_CHUNK_BYTES = 16 * 1024;

/** How messages name a list: its path, or stdin. */
export function listName(source: string): string {
  return source === '-' ? 'stdin' : source;
}

export function listFormatOf(source: string, firstLine?: string): ListFormat {
  if (/\.jsonl?$/i.test(source)) return 'jsonl';
  if (/\.csv$/i.test(source)) return 'csv';
  return firstLine?.trim().startsWith('{') ? 'jsonl' : 'csv';
}

export interface ReadOptions {
  /** Called with a CSV list's columns (not the email one) before its first row. */
  onCsvHeader?: (fields: string[]) => void;
}

/**
 * Reads a recipient list in chunks of rows (memory does not grow with the list; a chunk is what one
 * read of the file gives, so a caller pays for the async step once per chunk, not once per row).
 * A bad row is yielded as an error with its line number and the rest goes on; a list without an
 * email column stops.
 */
export async function* readRecipients(source: string, stdin: Readable = process.stdin, options: ReadOptions = {}): AsyncGenerator<RecipientRow[]> {
  const input = source === '-' ? stdin : createReadStream(source, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  if (source === '-') input.setEncoding('utf8');
  const parser = new RowParser(source, options.onCsvHeader);
  let partial = '';
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const { lines, rest } = splitCompleteLines(partial + chunk);
      partial = rest;
      const rows = parser.parseLines(lines);
      if (rows.length) yield rows;
    }
  } catch (error) {
    // A missing file, a directory, a device that fails: the system's word for it, as a usage error.
    const { code } = error as NodeJS.ErrnoException;
    if (!isSystemErrorCode(code)) throw error;
    throw new UserError(`--recipients: cannot read ${listName(source)} (${code})`, { hint: code === 'EISDIR' ? 'give the path of a CSV or JSONL file, not a directory' : undefined });
  }
  const rows = [...parser.parseLines(partial === '' ? [] : partial.split(LINE_BREAK)), ...parser.finish()];
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

/**
 * A quoted CSV field may hold line breaks (a postal address, a note): its record then spans several
 * lines. A quote still open after this many lines, or characters, is taken for a typo instead.
 */
export const MAX_LINES_PER_RECORD = 100;
export const MAX_CHARS_PER_RECORD = 64 * 1024;

type ParsedRow = { email: string; fields: Record<string, string> } | { error: string };

/** The lines so far of a CSV record whose quoted field is not closed yet. */
interface OpenRecord {
  startLine: number;
  lines: string[];
  chars: number;
}

/**
 * Turns the lines of a list into rows: the first line decides the format, a CSV header the columns.
 *
 * A record over several lines is taken only when it reads as RFC 4180 says, makes a good row, and
 * holds no line that reads as a row of its own. A stray quote (a typo) can pair up with a quote many
 * lines further on, and the rows between must not vanish into one field — nor may an address
 * inside a quoted note be mailed. So:
 * - a quote that never closes, or closes with text after it, is a bad row at its line, and the
 *   lines after it are read again one by one (none of them can start a record over lines then);
 * - a record that closes well but into a bad row, or around a line that reads as a row, is one
 *   bad row naming its lines: which reading is right, only the list's author can tell.
 */
class RowParser {
  private format?: ListFormat;
  private header?: string[];
  private emailColumn = -1;
  private lineNumber = 0;
  private openRecord?: OpenRecord;
  /** Lines up to this one are read again after a broken quote: each is a record of its own. */
  private oneLinePerRecordUntil = 0;

  constructor(
    private readonly source: string,
    private readonly onCsvHeader?: (fields: string[]) => void,
  ) {}

  parseLines(lines: string[]): RecipientRow[] {
    const rows: RecipientRow[] = [];
    for (const rawLine of lines) {
      this.lineNumber++;
      this.take(this.lineNumber === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine, this.lineNumber, rows);
    }
    return rows;
  }

  /** The end of the list: a record whose quote never closed is a bad row. */
  finish(): RecipientRow[] {
    const rows: RecipientRow[] = [];
    if (this.openRecord) this.rereadAfterBrokenQuote(this.openRecord, 'unclosed quote', rows);
    return rows;
  }

  private take(line: string, lineNumber: number, rows: RecipientRow[]): void {
    if (this.openRecord) {
      this.continueOpenRecord(this.openRecord, line, rows);
      return;
    }
    if (line.trim() === '') return;
    this.format ??= listFormatOf(this.source, line);
    if (this.format === 'jsonl') {
      this.push(withRecipientAddress(jsonRow(line)), lineNumber, rows);
      return;
    }
    const cells = parseCsvLine(line);
    if (!this.header) this.readHeader(cells);
    else if (cells) this.push(this.toRow(cells), lineNumber, rows);
    else if (lineNumber <= this.oneLinePerRecordUntil) rows.push({ line: lineNumber, error: 'unclosed quote' });
    else this.openRecord = { startLine: lineNumber, lines: [line], chars: line.length };
  }

  private continueOpenRecord(record: OpenRecord, line: string, rows: RecipientRow[]): void {
    record.lines.push(line);
    record.chars += line.length + 1;
    // The field is open at the start of the line: only a quote can close it.
    const parsed = line.includes('"') ? parseCsvRecord(record.lines.join('\n')) : undefined;
    if (!parsed) {
      if (record.lines.length >= MAX_LINES_PER_RECORD || record.chars > MAX_CHARS_PER_RECORD) {
        this.rereadAfterBrokenQuote(record, `unclosed quote (no closing quote within ${MAX_LINES_PER_RECORD} lines or ${MAX_CHARS_PER_RECORD / 1024} KB)`, rows);
      }
      return;
    }
    if (!parsed.strict) {
      this.rereadAfterBrokenQuote(record, 'unclosed quote', rows);
      return;
    }
    this.openRecord = undefined;
    const lastLine = record.startLine + record.lines.length - 1;
    const span = `lines ${record.startLine}–${lastLine}: a quoted field runs over these lines`;
    const row = this.toRow(parsed.cells);
    if ('error' in row) {
      rows.push({ line: record.startLine, error: `${span}, and makes a bad row (${row.error})` });
      return;
    }
    const insideField = [...record.lines.slice(1, -1), beforeClosingQuote(line)];
    const rowInside = insideField.findIndex((text) => this.readsAsRow(text));
    if (rowInside >= 0) {
      rows.push({ line: record.startLine, error: `${span}, and line ${record.startLine + 1 + rowInside} inside it reads as a row of its own (check the quotes)` });
      return;
    }
    this.push(row, record.startLine, rows);
  }

  /** The first line of the record is a bad row; the lines after it are read again, one record each. */
  private rereadAfterBrokenQuote(record: OpenRecord, reason: string, rows: RecipientRow[]): void {
    this.openRecord = undefined;
    rows.push({ line: record.startLine, error: reason });
    this.oneLinePerRecordUntil = record.startLine + record.lines.length - 1;
    record.lines.slice(1).forEach((line, i) => this.take(line, record.startLine + 1 + i, rows));
  }

  private readsAsRow(text: string): boolean {
    const cells = parseCsvLine(text);
    return cells !== undefined && !('error' in this.toRow(cells));
  }

  private toRow(cells: string[]): ParsedRow {
    return withRecipientAddress(csvRow(cells, this.header!, this.emailColumn));
  }

  private push(row: ParsedRow, lineNumber: number, rows: RecipientRow[]): void {
    rows.push('error' in row ? { line: lineNumber, error: row.error } : { line: lineNumber, email: row.email.trim(), fields: row.fields });
  }

  private readHeader(cells: string[] | undefined): void {
    const where = `--recipients ${this.source}: line 1`;
    if (!cells) throw new UserError(`${where} has a quote that does not close on that line`, { hint: 'a header is one line: e.g. email,name,plan' });
    this.header = cells.map((h) => h.trim());
    this.emailColumn = this.header.findIndex((h) => h.toLowerCase() === 'email');
    if (this.emailColumn < 0) {
      const separator = this.header.length === 1 ? OTHER_SEPARATORS.find(({ character }) => this.header![0].includes(character)) : undefined;
      const hint = separator ? `this header looks separated by ${separator.name}: save the list as comma-separated CSV` : 'e.g. email,name,plan';
      throw new UserError(`${where} must be a CSV header with an "email" column`, { hint });
    }
    // Field names are case-sensitive ({{Name}} is not {{name}}); the email column is not.
    const sameColumn = (a: string, b: string) => a === b || (a.toLowerCase() === 'email' && b.toLowerCase() === 'email');
    // An unnamed column (a spreadsheet's trailing empty ones) is never a merge field: repeats are fine.
    const repeated = this.header.find((name, i) => name !== '' && this.header!.findIndex((other) => sameColumn(other, name)) !== i);
    // A repeated column would leave one of its values out of every row, unseen.
    if (repeated !== undefined) throw new UserError(`${where} names the column "${repeated}" more than once`, { hint: 'give each column its own name' });
    this.onCsvHeader?.(this.header.filter((_, i) => i !== this.emailColumn));
  }
}

/** Separators that spreadsheets write for "CSV" in some settings (Excel in many European locales uses ';'). */
const OTHER_SEPARATORS = [
  { character: ';', name: 'semicolons' },
  { character: '\t', name: 'tabs' },
];

/** The text of a line that starts inside a quoted field, up to the quote that closes it. */
function beforeClosingQuote(line: string): string {
  for (let i = 0; i < line.length; i++) {
    if (line[i] !== '"') continue;
    if (line[i + 1] !== '"') return line.slice(0, i);
    i++;
  }
  return line;
}

/** The row, or an error when its address is not one recipient's. */
function withRecipientAddress(row: ParsedRow): ParsedRow {
  if ('error' in row || isRecipientAddress(row.email)) return row;
  return { error: `"${row.email}" is not a valid email address` };
}

/** A bare address only: a list row is one recipient, not `Name <address>`. */
function isRecipientAddress(email: string): boolean {
  return !/[\r\n\0<>]/.test(email) && isBareAddress(email.trim());
}

function csvRow(cells: string[], header: string[], emailColumn: number): ParsedRow {
  if (cells.length !== header.length) return { error: `${cells.length} columns, the header has ${header.length}` };
  const fields: Record<string, string> = {};
  for (let i = 0; i < header.length; i++) if (i !== emailColumn) fields[header[i]] = cells[i];
  return { email: cells[emailColumn], fields };
}

function jsonRow(line: string): ParsedRow {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'not valid JSON' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: 'not a JSON object' };
  // As a CSV header's, the key is found in any case ("Email" from a spreadsheet export).
  const emailKey = Object.hasOwn(value, 'email') ? 'email' : Object.keys(value).find((key) => key.toLowerCase() === 'email');
  const email = emailKey === undefined ? undefined : (value as Record<string, unknown>)[emailKey];
  if (typeof email !== 'string') return { error: 'no "email" string' };
  const fields: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) if (key !== emailKey) fields[key] = typeof field === 'string' ? field : JSON.stringify(field);
  return { email, fields };
}
