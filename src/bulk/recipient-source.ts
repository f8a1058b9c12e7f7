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
 * lines. A quote still open after this many lines is taken for a typo instead.
 */
export const MAX_LINES_PER_RECORD = 100;

type ParsedRow = { email: string; fields: Record<string, string> } | { error: string };

/** Turns the lines of a list into rows: the first line decides the format, a CSV header the columns. */
class RowParser {
  private format?: ListFormat;
  private header?: string[];
  private emailColumn = -1;
  private lineNumber = 0;
  /** The lines so far of a CSV record whose quoted field is not closed yet. */
  private openRecord?: { startLine: number; lines: string[] };

  constructor(private readonly source: string) {}

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
    if (this.openRecord) this.giveUpOpenRecord(rows);
    return rows;
  }

  private take(line: string, lineNumber: number, rows: RecipientRow[]): void {
    if (this.openRecord) {
      this.continueOpenRecord(line, rows);
      return;
    }
    if (line.trim() === '') return;
    this.format ??= listFormatOf(this.source, line);
    if (this.format === 'jsonl') {
      this.push(withRecipientAddress(jsonRow(line)), lineNumber, rows);
      return;
    }
    const cells = parseCsvLine(line);
    if (cells) this.takeCells(cells, lineNumber, rows);
    else this.openRecord = { startLine: lineNumber, lines: [line] };
  }

  private continueOpenRecord(line: string, rows: RecipientRow[]): void {
    const record = this.openRecord!;
    record.lines.push(line);
    const cells = parseCsvLine(record.lines.join('\n'));
    if (!cells) {
      if (record.lines.length >= MAX_LINES_PER_RECORD) this.giveUpOpenRecord(rows);
      return;
    }
    if (!this.header) {
      this.openRecord = undefined;
      this.readHeader(cells);
      return;
    }
    // A stray quote can pair up with one many lines further on. A record that only holds together
    // as a bad row, or whose field holds a line that reads as a whole row of the list, is taken
    // for that: the rows inside it must not be lost in it.
    const row = this.toRow(cells);
    const insideField = [...record.lines.slice(1, -1), beforeClosingQuote(line)];
    if ('error' in row || insideField.some((text) => this.isWholeRow(text))) {
      this.giveUpOpenRecord(rows);
      return;
    }
    this.openRecord = undefined;
    this.push(row, record.startLine, rows);
  }

  /** The first line of the open record is a bad row; the lines after it are read again on their own. */
  private giveUpOpenRecord(rows: RecipientRow[]): void {
    const { startLine, lines } = this.openRecord!;
    this.openRecord = undefined;
    if (!this.header) this.readHeader(undefined);
    rows.push({ line: startLine, error: lines.length >= MAX_LINES_PER_RECORD ? `unclosed quote (no closing quote in ${MAX_LINES_PER_RECORD} lines)` : 'unclosed quote' });
    lines.slice(1).forEach((line, i) => this.take(line, startLine + 1 + i, rows));
  }

  private takeCells(cells: string[], lineNumber: number, rows: RecipientRow[]): void {
    if (this.header) this.push(this.toRow(cells), lineNumber, rows);
    else this.readHeader(cells);
  }

  private isWholeRow(line: string): boolean {
    const cells = parseCsvLine(line);
    return cells !== undefined && !('error' in this.toRow(cells));
  }

  private toRow(cells: string[]): ParsedRow {
    return withRecipientAddress(csvRow(cells, this.header!, this.emailColumn));
  }

  private push(row: ParsedRow, lineNumber: number, rows: RecipientRow[]): void {
    rows.push('error' in row ? { line: lineNumber, error: row.error } : { line: lineNumber, email: row.email.trim(), fields: row.fields });
  }

  private readHeader(cells: string[] | undefined): void {
    this.header = cells?.map((h) => h.trim());
    this.emailColumn = this.header?.findIndex((h) => h.toLowerCase() === 'email') ?? -1;
    if (!this.header || this.emailColumn < 0) {
      const separator = this.header?.length === 1 ? OTHER_SEPARATORS.find(({ character }) => this.header![0].includes(character)) : undefined;
      const hint = separator ? `this header looks separated by ${separator.name}: save the list as comma-separated CSV` : 'e.g. email,name,plan';
      throw new UserError(`--recipients ${this.source}: line 1 must be a CSV header with an "email" column`, { hint });
    }
    // Field names are case-sensitive ({{Name}} is not {{name}}); the email column is not.
    const sameColumn = (a: string, b: string) => a === b || (a.toLowerCase() === 'email' && b.toLowerCase() === 'email');
    const repeated = this.header.find((name, i) => this.header!.findIndex((other) => sameColumn(other, name)) !== i);
    // A repeated column would leave one of its values out of every row, unseen.
    if (repeated !== undefined) throw new UserError(`--recipients ${this.source}: line 1 names the column "${repeated}" more than once`, { hint: 'give each column its own name' });
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
  const { email } = value as Record<string, unknown>;
  if (typeof email !== 'string') return { error: 'no "email" string' };
  const fields: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) if (key !== 'email') fields[key] = typeof field === 'string' ? field : JSON.stringify(field);
  return { email, fields };
}
