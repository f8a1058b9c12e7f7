import { Readable } from 'node:stream';

/** What a file part carries besides its bytes. */
export interface FilePartOptions {
  filename?: string;
  contentType?: string;
}

const CRLF = '\r\n';

/**
 * The form mailgun.js builds a bulk call in: `new Mailgun(MultipartBody)` in place of Node's
 * built-in FormData, which single messages keep (mailgun.js takes either, or the `form-data`
 * package, whose surface this has: `append`, `getHeaders`, `getLength`, a readable stream). Its
 * parts are written as bytes once, and axios sends them as one chunk.
 *
 * Why not the built-in FormData for bulk calls: axios streams one of those through an async
 * generator, part by part, encoding every string again (a bulk call's `to` and
 * `recipient-variables` are ~120 KB): ~1 ms of CPU per call, ~80–120 ms per 100,000 recipients,
 * and the next batch waits for it (#21, docs/benchmarks.md).
 *
 * The bytes are what axios writes for a FormData: the same part headers, names and file names
 * escaped the same way (`"` → %22, CR → %0D, LF → %0A), line breaks in text values sent as CRLF,
 * a file's Content-Type as a Blob keeps it (lower case; application/octet-stream when there is none,
 * or when it holds anything but printable ASCII, such as a line break).
 */
export class MultipartBody extends Readable {
  private readonly boundary = nextBoundary();
  private readonly parts: Buffer[] = [];
  private bytes?: Buffer;

  /** A text field, or a file when `options` names one (mailgun.js passes files as Buffers). */
  append(name: string, value: unknown, file?: FilePartOptions): void {
    if (typeof value === 'string' && file?.filename === undefined) return this.part(name, '', Buffer.from(withCrlf(value)));
    if (!(value instanceof Uint8Array) && typeof value !== 'string') {
      throw new TypeError(`MultipartBody: the value of "${name}" must be a string or bytes, not ${Object.prototype.toString.call(value)}`);
    }
    const fileHeaders = `; filename="${escapeName(file?.filename ?? 'file')}"${CRLF}Content-Type: ${fileType(file?.contentType)}`;
    this.part(name, fileHeaders, typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  /**
   * A text field whose value is UTF-8 bytes already: a bulk call's `to` and `recipient-variables`
   * (~120 KB a call), which the Mailgun adapter writes as bytes. Given as strings, they were
   * decoded from those bytes and encoded again here, and the ~100 KB strings outlived a young
   * collection or two while their batch waited for a call slot: ~20 MB of a 100,000-row run's
   * ~50 MB promoted to the old generation, and a full collection more (#21).
   */
  appendText(name: string, utf8: Buffer): void {
    // Line breaks are sent as CRLF (see withCrlf); JSON text and a list of addresses have none.
    if (utf8.includes(0x0a) || utf8.includes(0x0d)) return this.append(name, utf8.toString());
    this.part(name, '', utf8);
  }

  /** One part: its headers (`fileHeaders` after the name, for a file), then its bytes. */
  private part(name: string, fileHeaders: string, content: Buffer): void {
    if (this.bytes) throw new Error('MultipartBody: a part was added after the body was written');
    this.parts.push(Buffer.from(`--${this.boundary}${CRLF}Content-Disposition: form-data; name="${escapeName(name)}"${fileHeaders}${CRLF}${CRLF}`), content, Buffer.from(CRLF));
  }

  getHeaders(): Record<string, string> {
    return { 'content-type': `multipart/form-data; boundary=${this.boundary}` };
  }

  /** Node-callback style, as axios asks the `form-data` package for it. */
  getLength(callback: (error: Error | null, length: number) => void): void {
    callback(null, this.body().length);
  }

  /** The whole body; no part can be added after. */
  body(): Buffer {
    this.bytes ??= Buffer.concat([...this.parts, Buffer.from(`--${this.boundary}--${CRLF}`)]);
    this.parts.length = 0;
    return this.bytes;
  }

  /** axios tells a FormData by this (the `form-data` package's own answer). */
  override toString(): string {
    return '[object FormData]';
  }

  override _read(): void {
    this.push(this.body());
    this.push(null);
  }
}

/**
 * A boundary that no body's text holds, by chance or made to by whoever wrote a list: 96 random
 * bits drawn once per process (or per bundle loaded: the library and the CLI each draw their
 * own), which nothing shows (a preview leaves the boundary out), then a count, so that each body
 * has its own (the Mailgun adapter tells calls under way apart by it). Random bytes drawn for
 * each body cost ~6 µs a body in a loop, and ~11 ms of a 100-call bulk run's main thread in a
 * profile (#21).
 */
function nextBoundary(): string {
  boundaryPrefix ??= `penguinmails-${process.getBuiltinModule('node:crypto').randomBytes(12).toString('hex')}`;
  return `${boundaryPrefix}-${(bodiesMade++).toString(36)}`;
}

let boundaryPrefix: string | undefined;
let bodiesMade = 0;

/** A file's type as a Blob holds it (and axios sends it): lower case; one with other than printable ASCII is none. */
function fileType(contentType: string | undefined): string {
  return contentType && /^[\x20-\x7e]+$/.test(contentType) ? contentType.toLowerCase() : 'application/octet-stream';
}

function escapeName(name: string): string {
  return name.replace(/[\r\n"]/g, (character) => (character === '\r' ? '%0D' : character === '\n' ? '%0A' : '%22'));
}

/** Line breaks as CRLF, as FormData sends text. Most values have none: they are not searched by regex. */
function withCrlf(value: string): string {
  return value.includes('\r') || value.includes('\n') ? value.replace(/\r?\n|\r\n?/g, CRLF) : value;
}
