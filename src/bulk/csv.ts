/**
 * Splits one CSV record (RFC 4180 quoting: "a,b" and "" for a quote). Returns undefined when a
 * quoted field is not closed: the record goes on on the next line, or has a stray quote.
 */
export function parseCsvLine(line: string): string[] | undefined {
  if (!line.includes('"')) return splitPlain(line);
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (ch === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
    i++;
  }
  if (quoted) return undefined;
  cells.push(cell.trim());
  return cells;
}

/** A record without quotes: split at the commas, trimming only cells that need it. */
function splitPlain(line: string): string[] {
  const cells: string[] = [];
  let start = 0;
  for (;;) {
    const comma = line.indexOf(',', start);
    const cell = line.slice(start, comma < 0 ? line.length : comma);
    cells.push(needsTrim(cell) ? cell.trim() : cell);
    if (comma < 0) return cells;
    start = comma + 1;
  }
}

/** `\s` is the set `trim()` removes (Unicode spaces and line terminators included). */
const EDGE_SPACE = /^\s|\s$/;

function needsTrim(cell: string): boolean {
  return EDGE_SPACE.test(cell);
}
