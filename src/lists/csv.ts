/**
 * Splits one CSV record (RFC 4180 quoting: "a,b" and "" for a quote). Returns undefined when a
 * quoted field is not closed: the record goes on on the next line, or has a stray quote.
 */
export function parseCsvLine(line: string): string[] | undefined {
  // Most lines have no quote: split at once, without the record object (a bulk run reads every row here).
  return line.includes('"') ? parseCsvRecord(line)?.cells : splitPlain(line);
}

/**
 * Splits a CSV record, which may span lines. It reads leniently (a quote inside an unquoted cell,
 * or text after a closing quote, is kept as text); `strict` says whether the record needed that.
 */
export function parseCsvRecord(text: string): { cells: string[]; strict: boolean } | undefined {
  if (!text.includes('"')) return { cells: splitPlain(text), strict: true };
  const cells: string[] = [];
  let cell = '';
  /** The cell holds only spaces so far (tracked: trimming the cell at every quote would be quadratic). */
  let cellBlank = true;
  let strict = true;
  /** The cell's quoted part has closed: only spaces may follow before the next comma. */
  let afterQuotedPart = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"' && cellBlank) {
      if (afterQuotedPart) strict = false;
      const quoted = readQuoted(text, i + 1);
      if (!quoted) return undefined;
      cell = quoted.value;
      cellBlank = !NOT_SPACE.test(cell);
      i = quoted.end;
      afterQuotedPart = true;
      continue;
    }
    if (ch === ',') {
      cells.push(cell.trim());
      cell = '';
      cellBlank = true;
      afterQuotedPart = false;
    } else {
      const space = SPACE.test(ch);
      if (afterQuotedPart ? !space : ch === '"') strict = false;
      if (!space) cellBlank = false;
      cell += ch;
    }
    i++;
  }
  cells.push(cell.trim());
  return { cells, strict };
}

/** The value of a quoted field whose text starts at `start`, and the index after its closing quote. */
function readQuoted(text: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  let i = start;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote < 0) return undefined;
    value += text.slice(i, quote);
    if (text[quote + 1] !== '"') return { value, end: quote + 1 };
    value += '"';
    i = quote + 2;
  }
}

/**
 * A record without quotes: split at the commas, trimming only cells that need it. The cells are
 * counted first: an array grown by push starts with room for 16 (~130 bytes more per row, and a
 * bulk run reads every row here).
 */
function splitPlain(line: string): string[] {
  let count = 1;
  for (let comma = line.indexOf(','); comma >= 0; comma = line.indexOf(',', comma + 1)) count++;
  const cells = new Array<string>(count);
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = i === count - 1 ? line.length : line.indexOf(',', start);
    const cell = line.slice(start, end);
    cells[i] = needsTrim(cell) ? cell.trim() : cell;
    start = end + 1;
  }
  return cells;
}

/** `\s` is the set `trim()` removes (Unicode spaces and line terminators included). */
const EDGE_SPACE = /^\s|\s$/;
// Made once: a regular expression literal makes a new RegExp object each time it runs (here, each character of a quoted record).
const SPACE = /\s/;
const NOT_SPACE = /\S/;

function needsTrim(cell: string): boolean {
  if (cell === '') return false;
  // Printable ASCII at both ends, the usual cell, needs no trimming: the regex is for the others.
  const first = cell.charCodeAt(0);
  const last = cell.charCodeAt(cell.length - 1);
  if (first > 32 && first < 127 && last > 32 && last < 127) return false;
  return EDGE_SPACE.test(cell);
}
