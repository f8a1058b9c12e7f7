import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { isRecipientAddress } from '../core/address.js';
import { isSystemErrorCode, UserError } from '../core/errors.js';
import { groupThousands } from '../cost/money.js';
import { parseCsvLine, parseCsvRecord } from './csv.js';

export type RecipientRow = { line: number; email: string; fields: Record<string, string> } | { line: number; error: string };

export type ListFormat = 'csv' | 'jsonl';

/** Small reads keep each stretch of row parsing short, so answers from the ESPs are not kept waiting. */
const READ_CHUNK_BYTES = 16 * 1024;

/** How messages name a list: its path, or stdin. */
export function listName(source: string): string {
  return source === '-' ? 'stdin' : source;
}

/** A list that cannot be read, in the system's word for why: a usage error, worded the same wherever it is found. */
function unreadableList(source: string, why: string): UserError {
  return new UserError(`--recipients: cannot read ${listName(source)} (${why})`, { hint: why === 'EISDIR' ? 'give the path of a CSV or JSONL file, not a directory' : 'give the path of a CSV or JSONL list, or - for stdin' });
}

/** A list file that cannot be opened for reading is said at once, before anything about how it would be sent. */
export function assertListReadable(source: string): void {
  if (source === '-') return;
  try {
    accessSync(source, constants.R_OK);
  } catch (error) {
    throw unreadableList(source, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
}

/**
 * Bytes a list's row takes on average, for estimatedRows: an address (~20–25 characters) and a
 * field or two. A guess too low sizes a bulk run's digest set twice as large as it needs (24 made
 * 6 MB of it for 100,000 rows of ~33 bytes: more memory, and ~50 % slower to fill, its reads
 * spread wider, #21); too high, and the set grows once as it fills (~14 ms at 100,000 rows).
 */
const BYTES_PER_ROW_GUESS = 32;

/**
 * About how many rows a list file holds, from its size alone; undefined for stdin, or a file that
 * cannot be read (reading it says why). A guess to size memory by, never a count.
 */
export function estimatedRows(source: string): number | undefined {
  if (source === '-') return undefined;
  try {
    return Math.ceil(statSync(source).size / BYTES_PER_ROW_GUESS);
  } catch {
    return undefined;
  }
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
 * A recipient row is an address and its merge fields: a line longer than this, or a header with
 * more columns, is not a recipient list (a file saved without line breaks, the wrong file).
 */
export const MAX_LINE_CHARS = 1024 * 1024;
export const MAX_COLUMNS = 1_000;

/**
 * Reads a recipient list in chunks of rows (memory does not grow with the list; a chunk is what one
 * read of the file gives, so a caller pays for the async step once per chunk, not once per row).
 * A bad row is yielded as an error with its line number and the rest goes on; a list without an
 * email column stops.
 */
export async function* readRecipients(source: string, stdin: () => Readable = standardInput, options: ReadOptions = {}): AsyncGenerator<RecipientRow[]> {
  const reader = new RecipientReader(source, stdin, options);
  try {
    yield* reader.rows();
  } finally {
    reader.close();
  }
}

const standardInput = (): Readable => process.stdin;

/**
 * readRecipients, with what a run stopped half-way needs: how many rows it has handed out, and how
 * many the rest of the list holds. The list stays open until `close`.
 *
 * The work per read is bounded (a read's text, at most MAX_LINE_CHARS held over), and every read
 * is an async step: a signal is handled between two reads, whatever the list holds.
 */
export class RecipientReader {
  private input?: Readable;
  private chunks?: AsyncIterator<string>;
  private ended = false;
  private readonly parser: RowParser;
  /** The text after the last line break, in the pieces it came in (joined once the line ends). */
  private pending: string[] = [];
  private pendingChars = 0;
  private rowsHandedOut = 0;

  constructor(
    private readonly source: string,
    /** Asked for only when the list is stdin (`-`): Node sets process.stdin up on first use (~2 ms, #21). */
    private readonly stdin: () => Readable = standardInput,
    options: ReadOptions = {},
  ) {
    this.parser = new RowParser(source, options.onCsvHeader);
  }

  get rowsYielded(): number {
    return this.rowsHandedOut;
  }

  async *rows(): AsyncGenerator<RecipientRow[]> {
    for (let chunk = await this.nextChunk(); chunk !== undefined; chunk = await this.nextChunk()) {
      const rows = this.parser.parseLines(this.takeCompleteLines(chunk));
      if (rows.length) yield this.handOut(rows);
    }
    const rows = [...this.parser.parseLines(this.takeLastLine()), ...this.parser.finish()];
    if (rows.length) yield this.handOut(rows);
  }

  /**
   * The rows in the part of the list not read yet (after the last chunk `rows` gave), counted
   * without building them; undefined when that cannot be known: stdin (its rest may never end),
   * a list that turns out unreadable, or a count that would outlast `deadline` (epoch ms).
   */
  async countUnreadRows(deadline: number): Promise<number | undefined> {
    if (this.source === '-') return undefined;
    try {
      let count = 0;
      for (let chunk = await this.nextChunk(); chunk !== undefined; chunk = await this.nextChunk()) {
        if (Date.now() > deadline) return undefined;
        count += this.parser.countRows(this.takeCompleteLines(chunk));
      }
      return count + this.parser.countRows(this.takeLastLine()) + this.parser.finish().length;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.input?.destroy();
  }

  private handOut(rows: RecipientRow[]): RecipientRow[] {
    this.rowsHandedOut += rows.length;
    return rows;
  }

  private async nextChunk(): Promise<string | undefined> {
    if (this.ended) return undefined;
    try {
      if (!this.chunks) {
        this.input = this.source === '-' ? this.stdin() : createReadStream(this.source, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
        if (this.source === '-') this.input.setEncoding('utf8');
        // Pulled one read at a time (no for-await): a caller stopping early leaves the rest readable.
        this.chunks = this.input[Symbol.asyncIterator]();
      }
      const next = await this.chunks.next();
      this.ended = next.done === true;
      return next.done ? undefined : (next.value as string);
    } catch (error) {
      this.ended = true;
      // A missing file, a directory, a device that fails: the system's word for it, as a usage error.
      const { code } = error as NodeJS.ErrnoException;
      if (!isSystemErrorCode(code)) throw error;
      throw unreadableList(this.source, code);
    }
  }

  /**
   * The lines a read completes. Only the new text can end a line (or a CR the last read ended
   * with, which may be half a CRLF): the text held over is joined in only then, so a long line
   * costs its length once, not once per read.
   */
  private takeCompleteLines(chunk: string): string[] {
    const heldOverCR = this.pending.length > 0 && this.pending[this.pending.length - 1].endsWith('\r');
    if (!heldOverCR && !ANY_LINE_BREAK.test(chunk)) {
      this.hold(chunk);
      return [];
    }
    const { lines, rest } = splitCompleteLines(this.pending.join('') + chunk);
    this.pending = [];
    this.pendingChars = 0;
    this.hold(rest, lines.length);
    return lines;
  }

  /** The end of the list: the text after the last line break is its last line. */
  private takeLastLine(): string[] {
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    return text === '' ? [] : text.split(LINE_BREAK);
  }

  /** `linesBefore`: complete lines not yet given to the parser, which come before this text. */
  private hold(text: string, linesBefore = 0): void {
    if (text === '') return;
    this.pending.push(text);
    this.pendingChars += text.length;
    // The line is not over yet, and already too long: no need to read the rest of it.
    if (this.pendingChars > MAX_LINE_CHARS) throw lineTooLong(this.source, this.parser.linesRead + linesBefore + 1);
  }
}

function lineTooLong(source: string, line: number): UserError {
  return new UserError(`--recipients ${listName(source)}: line ${line} is longer than 1 MiB (${groupThousands(MAX_LINE_CHARS)} characters)`, {
    hint: 'a list has one recipient a line: an address and its merge fields (check that this is the recipient list, with its line breaks)',
  });
}

/** LF, CRLF, or a lone CR (old Mac, Excel's "CSV (Macintosh)"). */
const LINE_BREAK = /\r\n|\r|\n/;
const ANY_LINE_BREAK = /[\r\n]/;
const NOT_BLANK = /\S/;

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

  get linesRead(): number {
    return this.lineNumber;
  }

  parseLines(lines: string[]): RecipientRow[] {
    const rows: RecipientRow[] = [];
    for (const rawLine of lines) this.take(this.nextLine(rawLine), this.lineNumber, rows);
    return rows;
  }

  /**
   * How many rows these lines make, as parseLines would give them. A line that cannot hold a quote
   * nor continue a quoted field is a row when it is not blank: only the others are parsed.
   */
  countRows(lines: string[]): number {
    let count = 0;
    const rows: RecipientRow[] = [];
    for (const rawLine of lines) {
      const line = this.nextLine(rawLine);
      const plainRow = this.header !== undefined || this.format === 'jsonl';
      if (plainRow && !this.openRecord && (this.format === 'jsonl' || !line.includes('"'))) {
        if (NOT_BLANK.test(line)) count++;
        continue;
      }
      this.take(line, this.lineNumber, rows);
      count += rows.length;
      rows.length = 0;
    }
    return count;
  }

  private nextLine(rawLine: string): string {
    this.lineNumber++;
    if (rawLine.length > MAX_LINE_CHARS) throw lineTooLong(this.source, this.lineNumber);
    return this.lineNumber === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
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
    if (cells.length > MAX_COLUMNS) {
      throw new UserError(`${where} has ${groupThousands(cells.length)} columns; at most ${groupThousands(MAX_COLUMNS)}`, { hint: 'keep the email column and the merge fields the message uses; leave the other columns out' });
    }
    this.header = cells.map((h) => h.trim());
    this.emailColumn = this.header.findIndex((h) => h.toLowerCase() === 'email');
    if (this.emailColumn < 0) {
      const separator = this.header.length === 1 ? OTHER_SEPARATORS.find(({ character }) => this.header![0].includes(character)) : undefined;
      const hint = separator ? `this header looks separated by ${separator.name}: save the list as comma-separated CSV` : 'e.g. email,name,plan';
      throw new UserError(`${where} must be a CSV header with an "email" column`, { hint });
    }
    const repeated = firstRepeatedColumn(this.header);
    // A repeated column would leave one of its values out of every row, unseen.
    if (repeated !== undefined) throw new UserError(`${where} names the column "${repeated}" more than once`, { hint: 'give each column its own name' });
    this.onCsvHeader?.(this.header.filter((_, i) => i !== this.emailColumn));
  }
}

/** The first column named like an earlier one, in one pass. */
function firstRepeatedColumn(header: string[]): string | undefined {
  const seen = new Set<string>();
  let emailSeen = false;
  for (const name of header) {
    // An unnamed column (a spreadsheet's trailing empty ones) is never a merge field: repeats are fine.
    if (name === '') continue;
    // Field names are case-sensitive ({{Name}} is not {{name}}); the email column is not.
    if (name.toLowerCase() === 'email') {
      if (emailSeen) return name;
      emailSeen = true;
    } else if (seen.has(name)) return name;
    else seen.add(name);
  }
  return undefined;
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
  const fieldCount = Object.keys(value).length;
  if (fieldCount > MAX_COLUMNS) return { error: `${groupThousands(fieldCount)} fields; at most ${groupThousands(MAX_COLUMNS)}` };
  // As a CSV header's, the key is found in any case ("Email" from a spreadsheet export).
  const emailKey = Object.hasOwn(value, 'email') ? 'email' : Object.keys(value).find((key) => key.toLowerCase() === 'email');
  const email = emailKey === undefined ? undefined : (value as Record<string, unknown>)[emailKey];
  if (typeof email !== 'string') return { error: 'no "email" string' };
  const fields: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) if (key !== emailKey) fields[key] = typeof field === 'string' ? field : JSON.stringify(field);
  return { email, fields };
}
