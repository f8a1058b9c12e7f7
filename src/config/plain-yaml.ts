/**
 * A quick reader for the plain YAML that config files are written in: block mappings and
 * sequences, one-line flow collections (`[a, b]`, `{ k: v }`), quoted and plain scalars, comments.
 * It gives the same value as the yaml package (YAML 1.2 core schema, unique keys) or `undefined`
 * for anything else — anchors, tags, block scalars, multi-line scalars or flows, escapes, tabs, odd
 * indentation, a duplicate key, a broken file — and the caller then parses the text with the yaml
 * package, which also words the errors. Why: loading and running that package cost a command that
 * reads a config ~8 ms of its start-up (issue #21); this reads the example config in well under one.
 * test/unit/plain-yaml.test.ts holds it to the yaml package's answers, on the repository's configs
 * and on thousands of mutations of them.
 */

/** Thrown inside the reader for anything outside its subset; never escapes it. */
const OUTSIDE = Symbol('outside the subset');

interface Line {
  indent: number;
  /** The line without its indentation (comments still in it). */
  text: string;
}

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** The config's settings: a mapping at the top; undefined when the yaml package must read the text. */
export function readPlainYaml(text: string): Record<string, Value> | undefined {
  // Tabs, control characters, a BOM, line separators and a lone CR: left to the yaml package.
  if (/[\t\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff]|\r(?!\n)/.test(text)) return undefined;
  try {
    const reader = new PlainYamlReader(linesOf(text));
    return reader.document();
  } catch {
    // Outside the subset — or nested deeper than the stack allows: the yaml package decides.
    return undefined;
  }
}

/** The lines that hold something (blank and comment-only lines carry no value). */
function linesOf(text: string): Line[] {
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let indent = 0;
    while (line.charCodeAt(indent) === 32) indent++;
    if (indent === line.length || line[indent] === '#') continue;
    lines.push({ indent, text: line.slice(indent) });
  }
  return lines;
}

function outside(): never {
  throw OUTSIDE;
}

/** `key:` at the start of a line: a plain word or a quoted key, then a colon and a space or the end. */
const ENTRY = /^([A-Za-z_][\w./-]*|"[^"\\]*"|'(?:[^']|'')*'):(?: |$)/;
/** A plain flow-mapping key and its colon. */
const FLOW_KEY = /^([A-Za-z_][\w./-]*):(?= )/;

class PlainYamlReader {
  private next = 0;

  constructor(private readonly lines: Line[]) {}

  document(): Record<string, Value> {
    // Directives, document markers, an indented or empty document: the yaml package's.
    const first = this.lines[0];
    if (!first || first.indent !== 0 || first.text.startsWith('---') || first.text.startsWith('%')) outside();
    const value = this.mapping(0);
    if (this.next !== this.lines.length) outside();
    return value;
  }

  private mapping(indent: number): Record<string, Value> {
    const map: Record<string, Value> = {};
    while (this.next < this.lines.length && this.lines[this.next].indent === indent) {
      const line = this.lines[this.next];
      const entry = ENTRY.exec(line.text);
      if (!entry) outside();
      const key = keyOf(entry[1]);
      if (Object.hasOwn(map, key)) outside();
      const rest = line.text.slice(entry[0].length).replace(/^ +/, '');
      this.next++;
      map[key] = rest === '' || rest[0] === '#' ? this.blockValue(indent, true) : this.lineEnd(inlineValue(rest), indent);
    }
    return map;
  }

  private sequence(indent: number): Value[] {
    const items: Value[] = [];
    while (this.next < this.lines.length && this.lines[this.next].indent === indent && isItem(this.lines[this.next].text)) {
      const line = this.lines[this.next];
      const rest = line.text.slice(1).replace(/^ +/, '');
      if (rest === '' || rest[0] === '#') {
        this.next++;
        items.push(this.blockValue(indent, false));
      } else if (ENTRY.test(rest)) {
        // `- key: value`: a mapping whose first line starts after the dash, the rest aligned with it.
        const column = indent + line.text.length - rest.length;
        this.lines[this.next] = { indent: column, text: rest };
        items.push(this.mapping(column));
      } else {
        if (isItem(rest)) outside();
        this.next++;
        items.push(this.lineEnd(inlineValue(rest), indent));
      }
    }
    return items;
  }

  /**
   * The value of a key or item whose line ends after it: the block indented under it, a sequence
   * at the key's own indentation (YAML allows that for a mapping's value), or null.
   */
  private blockValue(indent: number, ofKey: boolean): Value {
    const line = this.lines[this.next];
    if (!line || line.indent < indent) return null;
    if (line.indent === indent) return ofKey && isItem(line.text) ? this.sequence(indent) : null;
    return isItem(line.text) ? this.sequence(line.indent) : this.mapping(line.indent);
  }

  /** A value that ended its line: a more indented line next would continue it (multi-line scalars). */
  private lineEnd(value: Value, indent: number): Value {
    const line = this.lines[this.next];
    if (line && line.indent > indent) outside();
    return value;
  }
}

function isItem(text: string): boolean {
  return text[0] === '-' && (text.length === 1 || text[1] === ' ');
}

function keyOf(written: string): string {
  // The yaml package refuses implicit keys over 1024 characters.
  if (written.length > 1000) outside();
  const key = written[0] === '"' ? written.slice(1, -1) : written[0] === "'" ? written.slice(1, -1).replaceAll("''", "'") : written;
  // A plain key that YAML reads as null or a boolean would become "" or "true" in JavaScript.
  if (key === written && typeof plainScalar(written) !== 'string') outside();
  // Set on an object literal, it would change the object's prototype instead.
  if (key === '__proto__') outside();
  return key;
}

/** A value written on one line after `key: ` or `- `, with only a comment after it. */
function inlineValue(text: string): Value {
  const cursor = { text, at: 0 };
  const first = text[0];
  if (first === '[' || first === '{' || first === '"' || first === "'") {
    const value = flowValue(cursor);
    const after = text.slice(cursor.at);
    if (after !== '' && !/^ +(#|$)/.test(after)) outside();
    return value;
  }
  // A plain scalar runs to the end of the line or to a comment (" #").
  const comment = text.indexOf(' #');
  const plain = withoutTrailingSpaces(comment < 0 ? text : text.slice(0, comment));
  if (plain.includes(': ') || plain.endsWith(':')) outside();
  return plainScalar(plain);
}

interface Cursor {
  text: string;
  at: number;
}

function skipSpaces(cursor: Cursor): void {
  while (cursor.text[cursor.at] === ' ') cursor.at++;
}

function flowValue(cursor: Cursor): Value {
  skipSpaces(cursor);
  const ch = cursor.text[cursor.at];
  if (ch === '[') return flowSequence(cursor);
  if (ch === '{') return flowMapping(cursor);
  if (ch === '"' || ch === "'") return quoted(cursor);
  // A plain scalar in a flow ends at a comma, a closing bracket, or a comment.
  const end = /[,\]}]| #|$/.exec(cursor.text.slice(cursor.at))!;
  const plain = withoutTrailingSpaces(cursor.text.slice(cursor.at, cursor.at + end.index));
  if (plain === '' || /:( |$)/.test(plain) || /[[{]/.test(plain)) outside();
  cursor.at += end.index;
  return plainScalar(plain);
}

function flowSequence(cursor: Cursor): Value[] {
  const items: Value[] = [];
  flowEntries(cursor, ']', () => items.push(flowValue(cursor)));
  return items;
}

function flowMapping(cursor: Cursor): Record<string, Value> {
  const map: Record<string, Value> = {};
  flowEntries(cursor, '}', () => {
    let key: string;
    const first = cursor.text[cursor.at];
    if (first === '"' || first === "'") {
      const start = cursor.at;
      quoted(cursor);
      key = keyOf(cursor.text.slice(start, cursor.at));
      if (cursor.text[cursor.at] !== ':' || cursor.text[cursor.at + 1] !== ' ') outside();
      cursor.at += 1;
    } else {
      const written = FLOW_KEY.exec(cursor.text.slice(cursor.at)) ?? outside();
      key = keyOf(written[1]);
      cursor.at += written[0].length;
    }
    if (Object.hasOwn(map, key)) outside();
    skipSpaces(cursor);
    if (/^[,}]|^$/.test(cursor.text.slice(cursor.at))) outside();
    map[key] = flowValue(cursor);
  });
  return map;
}

/** A flow collection from its opening bracket past its closing one, each entry read by `entry`. */
function flowEntries(cursor: Cursor, close: ']' | '}', entry: () => void): void {
  cursor.at++;
  skipSpaces(cursor);
  if (cursor.text[cursor.at] === close) {
    cursor.at++;
    return;
  }
  for (;;) {
    entry();
    skipSpaces(cursor);
    const ch = cursor.text[cursor.at++];
    if (ch === close) return;
    if (ch !== ',') outside();
    skipSpaces(cursor);
    // A trailing comma or an empty entry: left to the yaml package.
    if (cursor.text[cursor.at] === close || cursor.text[cursor.at] === ',') outside();
  }
}

/**
 * The text without the spaces at its end (YAML trims spaces, not the other characters trimEnd
 * takes). A loop, not / +$/: that regex is tried at every space of a long run, each time to the run's end.
 */
function withoutTrailingSpaces(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
  return text.slice(0, end);
}

/** A quoted scalar closed on its line; escapes (a backslash in double quotes) are the yaml package's. */
function quoted(cursor: Cursor): string {
  const { text } = cursor;
  const quote = text[cursor.at];
  if (quote === '"') {
    const end = text.indexOf('"', cursor.at + 1);
    if (end < 0) outside();
    const value = text.slice(cursor.at + 1, end);
    if (value.includes('\\')) outside();
    cursor.at = end + 1;
    return value;
  }
  let value = '';
  let from = cursor.at + 1;
  for (;;) {
    const end = text.indexOf("'", from);
    if (end < 0) outside();
    value += text.slice(from, end);
    if (text[end + 1] !== "'") {
      cursor.at = end + 1;
      return value;
    }
    value += "'";
    from = end + 2;
  }
}

/**
 * A plain scalar as YAML 1.2's core schema reads it (the yaml package's tests, same order): null,
 * booleans, decimal integers and floats; hexadecimal, octal, .inf and .nan are left to the package.
 */
function plainScalar(text: string): Value {
  // Indicators that start anchors, aliases, tags, block scalars, directives, complex keys.
  if (/^[[\]{},#&*!|>'"%@`?:]|^-( |$)/.test(text)) outside();
  if (/^(?:~|[Nn]ull|NULL)?$/.test(text)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(text)) return text[0] === 't' || text[0] === 'T';
  if (/^[-+]?[0-9]+$/.test(text)) return parseInt(text, 10);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(text) || /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(text)) return parseFloat(text);
  if (/^0o[0-7]+$|^0x[0-9a-fA-F]+$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/.test(text)) outside();
  return text;
}
