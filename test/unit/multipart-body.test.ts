import { describe, expect, it, vi } from 'vitest';
import { MultipartBody } from '../../src/providers/multipart-body.js';

/** Read back with undici's multipart parser, as a server would. */
async function parsed(form: MultipartBody): Promise<FormData> {
  return new Response(form.body(), { headers: form.getHeaders() }).formData();
}

async function streamed(form: MultipartBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of form) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('MultipartBody (the form mailgun.js builds calls in)', () => {
  it('text fields, repeated fields and non-ASCII text read back as given', async () => {
    const form = new MultipartBody();
    form.append('from', 'Zoë <news@example.com>');
    form.append('to', 'a@example.com, b@example.com');
    form.append('o:tag', 'one');
    form.append('o:tag', 'two');
    form.append('recipient-variables', JSON.stringify({ 'a@example.com': { s_name: 'Ünal 🐧' } }));
    const data = await parsed(form);
    expect(data.get('from')).toBe('Zoë <news@example.com>');
    expect(data.get('to')).toBe('a@example.com, b@example.com');
    expect(data.getAll('o:tag')).toEqual(['one', 'two']);
    expect(JSON.parse(data.get('recipient-variables') as string)).toEqual({ 'a@example.com': { s_name: 'Ünal 🐧' } });
  });

  it('a text field given as UTF-8 bytes reads back as the same text as the string would', async () => {
    const form = new MultipartBody();
    const variables = JSON.stringify({ 'zoë@example.com': { s_name: 'Ünal 🐧', h_name: '"quoted"' } });
    form.appendText('recipient-variables', Buffer.from(variables));
    form.append('subject', 'Hi');
    const data = await parsed(form);
    expect(data.get('recipient-variables')).toBe(variables);
    expect(data.get('subject')).toBe('Hi');
  });

  it('bytes with line breaks in them still go with CRLF, as their text would', async () => {
    const form = new MultipartBody();
    form.appendText('text', Buffer.from('one\ntwo\rthree'));
    expect((await parsed(form)).get('text')).toBe('one\r\ntwo\r\nthree');
  });

  it('line breaks in text go as CRLF, as FormData sends them', async () => {
    const form = new MultipartBody();
    form.append('text', 'unix\nwindows\r\nold mac\rend');
    expect((await parsed(form)).get('text')).toBe('unix\r\nwindows\r\nold mac\r\nend');
  });

  it('files keep their bytes, name and type; an untyped one is application/octet-stream', async () => {
    const form = new MultipartBody();
    const pdf = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x0d, 0x0a, 0x00, 0xff]);
    form.append('attachment', pdf, { filename: 'report.pdf', contentType: 'application/pdf' });
    form.append('attachment', Buffer.from('plain'), { filename: 'notes' });
    const files = (await parsed(form)).getAll('attachment') as File[];
    expect(files.map((f) => [f.name, f.type])).toEqual([
      ['report.pdf', 'application/pdf'],
      ['notes', 'application/octet-stream'],
    ]);
    expect(Buffer.from(await files[0].arrayBuffer())).toEqual(pdf);
  });

  it('quotes and line breaks in names and file names are escaped, so no header can be forged', () => {
    const form = new MultipartBody();
    form.append('h:X-Odd"name', 'v');
    form.append('attachment', Buffer.from('x'), { filename: 'a"b\r\nContent-Type: text/html.txt', contentType: 'text/plain' });
    const text = form.body().toString();
    expect(text).toContain('name="h:X-Odd%22name"');
    expect(text).toContain('filename="a%22b%0D%0AContent-Type: text/html.txt"');
    expect(text).not.toContain('\r\nContent-Type: text/html');
  });

  it('a file type with a line break cannot add a header either: it is dropped, as a Blob drops it', () => {
    const form = new MultipartBody();
    form.append('attachment', Buffer.from('x'), { filename: 'a.txt', contentType: 'text/plain\r\nX-Forged: yes' });
    form.append('attachment', Buffer.from('y'), { filename: 'b.PDF', contentType: 'Application/PDF' });
    const text = form.body().toString();
    expect(text).not.toContain('X-Forged');
    expect(text).toContain('filename="a.txt"\r\nContent-Type: application/octet-stream\r\n');
    expect(text).toContain('filename="b.PDF"\r\nContent-Type: application/pdf\r\n');
  });

  it('says its length and content type, and streams the same bytes', async () => {
    const form = new MultipartBody();
    form.append('subject', 'Hi %recipient.s_name%');
    const length = await new Promise<number>((resolve, reject) => form.getLength((error, n) => (error ? reject(error) : resolve(n))));
    const bytes = await streamed(form);
    expect(length).toBe(bytes.length);
    expect(bytes.equals(form.body())).toBe(true);
    const boundary = /boundary=(.+)$/.exec(form.getHeaders()['content-type'])![1];
    expect(bytes.toString().endsWith(`--${boundary}--\r\n`)).toBe(true);
    expect(new MultipartBody().getHeaders()['content-type']).not.toBe(form.getHeaders()['content-type']);
  });

  it('gives each body a boundary of its own: 96 random bits drawn once per process, then a count', async () => {
    const boundaryOf = (form: { getHeaders(): Record<string, string> }) => /boundary=(.+)$/.exec(form.getHeaders()['content-type'])![1];
    const randomPart = (boundary: string) => /^penguinmails-([0-9a-f]{24})-[0-9a-z]+$/.exec(boundary)?.[1];
    const boundaries = Array.from({ length: 1000 }, () => boundaryOf(new MultipartBody()));
    expect(new Set(boundaries).size).toBe(1000);
    expect([...new Set(boundaries.map(randomPart))]).toEqual([expect.stringMatching(/^[0-9a-f]{24}$/)]);
    // Another process (here, the module loaded afresh) draws another random part.
    vi.resetModules();
    const fresh = await import('../../src/providers/multipart-body.js');
    expect(randomPart(boundaryOf(new fresh.MultipartBody()))).not.toBe(randomPart(boundaries[0]));
  });

  it('is taken for a FormData by axios (toString), not for a spec FormData it would re-encode', () => {
    const form = new MultipartBody();
    expect(form.toString()).toBe('[object FormData]');
    expect(Object.prototype.toString.call(form)).not.toBe('[object FormData]');
  });

  it('refuses what it cannot write, and parts added after the body was written', () => {
    const form = new MultipartBody();
    expect(() => form.append('attachment', new Blob(['x']), { filename: 'x.txt' })).toThrow(/"attachment" must be a string or bytes/);
    expect(() => form.append('v:data', { a: 1 })).toThrow(TypeError);
    form.body();
    expect(() => form.append('late', 'x')).toThrow(/after the body was written/);
  });
});
