import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readRecipients, splitCompleteLines, type RecipientRow } from '../../src/bulk/recipient-source.js';
import { parseCsvLine } from '../../src/bulk/csv.js';

/** Reads a list given as stdin in the given pieces (a piece may end anywhere, even inside a character). */
async function read(pieces: (string | Buffer)[], source = '-'): Promise<RecipientRow[]> {
  const stdin = Readable.from(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  const rows: RecipientRow[] = [];
  for await (const chunk of readRecipients(source, stdin)) rows.push(...chunk);
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

  it('stops at a CSV without an email column', async () => {
    await expect(read(['name,plan\nA,x\n'])).rejects.toThrow(/line 1 must be a CSV header with an "email" column/);
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
