import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_CHARS_PER_RECORD, MAX_COLUMNS, MAX_LINE_CHARS, MAX_LINES_PER_RECORD, estimatedRows, readRecipients, RecipientReader, splitCompleteLines, type RecipientRow } from '../../src/lists/recipient-source.js';
import { parseCsvLine, parseCsvRecord } from '../../src/lists/csv.js';
import { tempDir } from '../helpers/cli.js';

/** Reads a list given as stdin in the given pieces (a piece may end anywhere, even inside a character). */
async function read(pieces: (string | Buffer)[], source = '-'): Promise<RecipientRow[]> {
  const stdin = Readable.from(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  const rows: RecipientRow[] = [];
  for await (const chunk of readRecipients(source, () => stdin)) rows.push(...chunk);
  return rows;
}

describe('readRecipients', () => {
  it('joins rows split across reads, with CRLF, a BOM and a last line without a newline', async () => {
    const rows = await read(['\uFEFFemail,na', 'me\r\na@example.com,A', 'nn\r\n\r\nb@example.com', ',Bob']);
    expect(rows).toEqual([
      { line: 2, email: 'a@example.com', fields: { name: 'Ann' } },
      { line: 4, email: 'b@example.com', fields: { name: 'Bob' } },
    ]);
  });

  it('reads lists with lone CR line endings (Excel for Mac), even with a CRLF cut between two reads', async () => {
    expect(await read(['email,name\ra@example.com,A\r\rb@example.com,B\r'])).toEqual([
      { line: 2, email: 'a@example.com', fields: { name: 'A' } },
      { line: 4, email: 'b@example.com', fields: { name: 'B' } },
    ]);
    expect(await read(['email,name\r', '\na@example.com,A\r', '\nb@example.com,B'])).toEqual([
      { line: 2, email: 'a@example.com', fields: { name: 'A' } },
      { line: 3, email: 'b@example.com', fields: { name: 'B' } },
    ]);
  });

  it('keeps a multi-byte character that a read cut in two', async () => {
    const bytes = Buffer.from('email,name\nz@example.com,Zoë\n');
    const cut = bytes.indexOf(Buffer.from('ë')) + 1;
    expect(await read([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual([{ line: 2, email: 'z@example.com', fields: { name: 'Zoë' } }]);
  });

  it('reports bad rows with their line numbers and goes on', async () => {
    const rows = await read(['email,name\n', 'Ann <a@example.com>,A\n', 'x@example.com,"open\n', 'y@example.com\n', 'ok@example.com,OK\n']);
    expect(rows).toEqual([
      { line: 2, error: '"Ann <a@example.com>" is not a valid email address' },
      { line: 3, error: 'unclosed quote' },
      { line: 4, error: '1 columns, the header has 2' },
      { line: 5, email: 'ok@example.com', fields: { name: 'OK' } },
    ]);
  });

  it('reads JSON lines, trimming the address and turning non-string values into JSON', async () => {
    const rows = await read(['{"email":" j@example.com ","name":"J","n":3}\n', '[1]\n', '{"name":"no address"}\n']);
    expect(rows).toEqual([
      { line: 1, email: 'j@example.com', fields: { name: 'J', n: '3' } },
      { line: 2, error: 'not a JSON object' },
      { line: 3, error: 'no "email" string' },
    ]);
  });

  it('reads a quoted field over several lines (CRLF, a blank line, a read cut inside it) as one row at its first line', async () => {
    const rows = await read(['email,address,name\r\n', 'a@example.com,"1 Main St\r\n\r\nSpring', 'field, IL",Ann\r\nb@example.com,Elm St,Bob\r\n']);
    expect(rows).toEqual([
      { line: 2, email: 'a@example.com', fields: { address: '1 Main St\n\nSpringfield, IL', name: 'Ann' } },
      { line: 5, email: 'b@example.com', fields: { address: 'Elm St', name: 'Bob' } },
    ]);
    // The field's last line may read like a row up to its comma; "" stays a quote.
    expect(await read(['name,address,email\nAnn,"1 Main St\nSpringfield, IL",a@example.com\n'])).toEqual([
      { line: 2, email: 'a@example.com', fields: { name: 'Ann', address: '1 Main St\nSpringfield, IL' } },
    ]);
    expect(await read(['email,note\na@example.com,"He said ""hi,""\nthen ""bye"""\n'])).toEqual([
      { line: 2, email: 'a@example.com', fields: { note: 'He said "hi,"\nthen "bye"' } },
    ]);
  });

  it('a quote never closed is a bad row at its line; the lines after it are read one by one, even ones that open a quote', async () => {
    expect(await read(['email,name\na@example.com,"Ann\nb@example.com,Bob\n\nc@example.com,Cy'])).toEqual([
      { line: 2, error: 'unclosed quote' },
      { line: 3, email: 'b@example.com', fields: { name: 'Bob' } },
      { line: 5, email: 'c@example.com', fields: { name: 'Cy' } },
    ]);
    // Line 3 closes line 2's quote with text after it, then opens one of its own: nothing after it is lost.
    expect(await read(['email,name\na@example.com,"Ann\nb@example.com,5" TV,"x\nc@example.com,Cy\nd@example.com,Di\n'])).toEqual([
      { line: 2, error: 'unclosed quote' },
      { line: 3, error: 'unclosed quote' },
      { line: 4, email: 'c@example.com', fields: { name: 'Cy' } },
      { line: 5, email: 'd@example.com', fields: { name: 'Di' } },
    ]);
  });

  it('a stray quote closed by a later quote with text after it does not swallow the rows between them', async () => {
    expect(await read(['email,name\na@example.com,"Ann\nb@example.com,Bob\nc@example.com,"Cy, Jr."\nd@example.com,Di\n'])).toEqual([
      { line: 2, error: 'unclosed quote' },
      { line: 3, email: 'b@example.com', fields: { name: 'Bob' } },
      { line: 4, email: 'c@example.com', fields: { name: 'Cy, Jr.' } },
      { line: 5, email: 'd@example.com', fields: { name: 'Di' } },
    ]);
    expect(await read(['name,email\n"Ann,a@example.com\n"Bob",b@example.com\n'])).toEqual([
      { line: 2, error: 'unclosed quote' },
      { line: 3, email: 'b@example.com', fields: { name: 'Bob' } },
    ]);
  });

  it('a field over lines that holds a line reading as a row is one bad row naming its lines: nobody in it is mailed', async () => {
    expect(await read(['email,name\na@example.com,"Ann\nb@example.com,Bob"\nc@example.com,Cy\n'])).toEqual([
      { line: 2, error: 'lines 2–3: a quoted field runs over these lines, and line 3 inside it reads as a row of its own (check the quotes)' },
      { line: 4, email: 'c@example.com', fields: { name: 'Cy' } },
    ]);
    // Valid RFC 4180, but bob may be a recipient with a stray quote, or a contact in a note.
    expect(await read(['email,note\na@example.com,"Backup contact:\nbob@example.com, mobile"\n'])).toEqual([
      { line: 2, error: 'lines 2–3: a quoted field runs over these lines, and line 3 inside it reads as a row of its own (check the quotes)' },
    ]);
  });

  it('a field over lines that makes a bad row is one bad row naming its lines (an address cannot hold a line break)', async () => {
    expect(await read(['email,name\n"a@example.com\nb@example.com",Ann\nc@example.com,Cy\n'])).toEqual([
      { line: 2, error: 'lines 2–3: a quoted field runs over these lines, and makes a bad row ("a@example.com\nb@example.com" is not a valid email address)' },
      { line: 4, email: 'c@example.com', fields: { name: 'Cy' } },
    ]);
    expect(await read(['email,name\na@example.com,"1 Main St\nSpringfield",Ann\n'])).toEqual([
      { line: 2, error: 'lines 2–3: a quoted field runs over these lines, and makes a bad row (3 columns, the header has 2)' },
    ]);
  });

  it(`a quote still open after ${MAX_LINES_PER_RECORD} lines or ${MAX_CHARS_PER_RECORD / 1024} KB is a bad row, and reading goes on from the line after it`, async () => {
    const reason = `unclosed quote (no closing quote within ${MAX_LINES_PER_RECORD} lines or ${MAX_CHARS_PER_RECORD / 1024} KB)`;
    const filler = Array.from({ length: MAX_LINES_PER_RECORD + 5 }, (_, i) => `u${i}@example.com,U${i}`);
    const rows = await read([`email,name\nbad@example.com,"Open\n${filler.join('\n')}\n`]);
    expect(rows[0]).toEqual({ line: 2, error: reason });
    expect(rows.slice(1)).toEqual(filler.map((_, i) => ({ line: 3 + i, email: `u${i}@example.com`, fields: { name: `U${i}` } })));
    const long = 'x'.repeat(MAX_CHARS_PER_RECORD);
    expect(await read([`email,name\nbad@example.com,"Open\nl@example.com,${long}\nok@example.com,OK\n`])).toEqual([
      { line: 2, error: reason },
      { line: 3, email: 'l@example.com', fields: { name: long } },
      { line: 4, email: 'ok@example.com', fields: { name: 'OK' } },
    ]);
  });

  it('a header whose quote does not close on its line stops the run', async () => {
    await expect(read(['email,"name\na@example.com,Ann\n'])).rejects.toThrow(/line 1 has a quote that does not close on that line/);
    await expect(read(['email,"name\na@example.com,Ann\nb@example.com,"Bob"\n'])).rejects.toThrow(/line 1 has a quote/);
  });

  it('unnamed columns (a spreadsheet\'s trailing empty ones) are not repeats', async () => {
    expect(await read(['email,name,,\na@example.com,Ann,,\n'])).toEqual([{ line: 2, email: 'a@example.com', fields: { name: 'Ann', '': '' } }]);
  });

  it('stops at a header naming a column twice (the email column in any case); Name and name are two fields', async () => {
    await expect(read(['email,name,plan,name\na@example.com,A,x,B\n'])).rejects.toThrow(/names the column "name" more than once/);
    await expect(read(['Email,name,EMAIL\na@example.com,A,b@example.com\n'])).rejects.toThrow(/names the column "EMAIL" more than once/);
    expect(await read(['email,Name,name\na@example.com,A,a\n'])).toEqual([{ line: 2, email: 'a@example.com', fields: { Name: 'A', name: 'a' } }]);
  });

  it.each([
    ['email;name\na@example.com;A\n', 'semicolons'],
    ['email\tname\na@example.com\tA\n', 'tabs'],
  ])('a list separated by something else than commas gets a hint that says so: %j', async (list, separator) => {
    const error = await read([list]).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ message: expect.stringMatching(/line 1 must be a CSV header with an "email" column/), hint: expect.stringContaining(`separated by ${separator}`) });
  });

  it('finds a JSON line\'s email key in any case, as a CSV header\'s', async () => {
    expect(await read(['{"Email":"a@example.com","Name":"A"}\n{"EMAIL":"b@example.com","email":"c@example.com"}\n'])).toEqual([
      { line: 1, email: 'a@example.com', fields: { Name: 'A' } },
      { line: 2, email: 'c@example.com', fields: { EMAIL: 'b@example.com' } },
    ]);
  });

  it('stops at a CSV without an email column', async () => {
    await expect(read(['name,plan\nA,x\n'])).rejects.toThrow(/line 1 must be a CSV header with an "email" column/);
  });
});

describe('list limits', () => {
  it(`stops at a line longer than ${MAX_LINE_CHARS} characters, naming it, whether it comes in many reads or one`, async () => {
    const long = 'x'.repeat(MAX_LINE_CHARS + 1);
    const pieces = ['email,name\na@example.com,A\nb@example.com,', ...long.match(/.{1,65536}/g)!, '\n'];
    await expect(read(pieces)).rejects.toThrow(/line 3 is longer than 1 MiB/);
    await expect(read([`email,name\nb@example.com,${long}\nc@example.com,C\n`])).rejects.toThrow(/line 2 is longer than 1 MiB/);
    await expect(read([`{"email":"a@example.com"}\n\n{"email":"b@example.com","n":"${long}"}`])).rejects.toThrow(/line 3 is longer than 1 MiB/);
    // At the limit, a line is still a row.
    const [row] = await read([`email,name\nb@example.com,${'y'.repeat(MAX_LINE_CHARS - 'b@example.com,'.length)}\n`]);
    expect(row).toMatchObject({ line: 2, email: 'b@example.com' });
  });

  it(`stops at a header of more than ${MAX_COLUMNS} columns; a JSON line with more fields is a bad row`, async () => {
    const header = ['email', ...Array.from({ length: MAX_COLUMNS }, (_, i) => `c${i}`)].join(',');
    const error = await read([`${header}\n`]).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ message: expect.stringMatching(/line 1 has 1,001 columns; at most 1,000/), hint: expect.any(String) });
    const wide = JSON.stringify(Object.fromEntries([['email', 'a@example.com'], ...Array.from({ length: MAX_COLUMNS }, (_, i) => [`f${i}`, 'v'])]));
    expect(await read([`${wide}\n{"email":"b@example.com"}\n`])).toEqual([
      { line: 1, error: '1,001 fields; at most 1,000' },
      { line: 2, email: 'b@example.com', fields: {} },
    ]);
  });

  it('finds a repeated column among the most columns a header may have', async () => {
    const names = Array.from({ length: MAX_COLUMNS - 2 }, (_, i) => `c${i}`);
    await expect(read([`email,${names.join(',')},c7\n`])).rejects.toThrow(/names the column "c7" more than once/);
  });

  it('splits a line of many quotes inside unquoted cells (kept as text) in one pass', () => {
    const cell = 'a"'.repeat(200_000);
    expect(parseCsvRecord(`x@example.com,${cell}`)).toEqual({ cells: ['x@example.com', cell], strict: false });
    // A quoted part after spaces still opens a quote; after text it is text.
    expect(parseCsvRecord('  "a,b" ,c"d"')).toEqual({ cells: ['a,b', 'c"d"'], strict: false });
  });
});

describe('RecipientReader.countUnreadRows', () => {
  /** Reads a few chunks of rows, then counts the rest: the two must add up to the rows of the list. */
  async function readThenCount(list: string, name: string, chunksToRead: number): Promise<{ read: number; unread: number | undefined; all: number }> {
    const file = path.join(tempDir(), name);
    writeFileSync(file, list);
    const reader = new RecipientReader(file);
    let chunks = 0;
    for await (const _ of reader.rows()) if (++chunks === chunksToRead) break;
    const unread = await reader.countUnreadRows(Date.now() + 60_000);
    reader.close();
    const all = (await read([list], file)).length;
    return { read: reader.rowsYielded, unread, all };
  }

  it('counts the rows after the ones read: blank lines skipped, quoted fields over lines, broken quotes and bad rows counted as the reading would', async () => {
    const rows = Array.from({ length: 3_000 }, (_, i) =>
      i % 97 === 0 ? `q${i}@example.com,"Line one\nline two",x` : i % 101 === 0 ? `b${i}@example.com,"broken,x` : i % 89 === 0 ? '' : `u${i}@example.com,User ${i},plan`,
    );
    const list = ['email,name,plan', ...rows].join('\n') + '\n';
    const { read: taken, unread, all } = await readThenCount(list, 'list.csv', 2);
    expect(taken).toBeGreaterThan(0);
    expect(taken + unread!).toBe(all);
  });

  it('counts JSON lines, valid or not', async () => {
    const list = Array.from({ length: 3_000 }, (_, i) => (i % 50 === 0 ? 'not json' : JSON.stringify({ email: `j${i}@example.com`, n: i }))).join('\n');
    const { read: taken, unread, all } = await readThenCount(list, 'list.jsonl', 1);
    expect(taken + unread!).toBe(all);
    expect(all).toBe(3_000);
  });

  it('counts nothing left after the whole list was read; stdin is not counted (its rest may never end)', async () => {
    expect(await readThenCount('email\na@example.com\n', 'list.csv', 99)).toEqual({ read: 1, unread: 0, all: 1 });
    const reader = new RecipientReader('-', () => Readable.from([Buffer.from('email\na@example.com\n')]));
    expect(await reader.countUnreadRows(Date.now() + 60_000)).toBeUndefined();
  });
});

describe('splitCompleteLines', () => {
  it.each([
    ['a\nb\nc', ['a', 'b'], 'c'],
    ['a\r\nb\r\n', ['a', 'b'], ''],
    ['a\rb\r', ['a'], 'b\r'],
    ['a\r', [], 'a\r'],
    ['no break', [], 'no break'],
    ['\r\n', [''], ''],
  ])('%j → %j + %j', (text, lines, rest) => {
    expect(splitCompleteLines(text)).toEqual({ lines, rest });
  });
});

describe('parseCsvLine', () => {
  it('trims Unicode spaces the same way with and without quotes', () => {
    expect(parseCsvLine('a\u00a0,\u3000b')).toEqual(['a', 'b']);
    expect(parseCsvLine('"a"\u00a0,\u3000b')).toEqual(parseCsvLine('a\u00a0,\u3000b'));
  });

  it('trims cells, with and without quotes', () => {
    expect(parseCsvLine(' a@example.com , Ann ,')).toEqual(['a@example.com', 'Ann', '']);
    expect(parseCsvLine('a@example.com,"Doe, ""J""" ,x')).toEqual(['a@example.com', 'Doe, "J"', 'x']);
  });
});

describe('estimatedRows', () => {
  it('guesses a file list’s rows from its size; none for stdin or a file that is not there', () => {
    const file = path.join(tempDir(), 'list.csv');
    writeFileSync(file, 'email,name\n' + Array.from({ length: 1000 }, (_, i) => `user${i}@example.com,User ${i}\n`).join(''));
    const guess = estimatedRows(file)!;
    expect(guess).toBeGreaterThan(500);
    expect(guess).toBeLessThan(2000);
    expect(estimatedRows('-')).toBeUndefined();
    expect(estimatedRows(path.join(tempDir(), 'missing.csv'))).toBeUndefined();
  });
});
