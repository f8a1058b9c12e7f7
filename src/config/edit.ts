import { isDeepStrictEqual } from 'node:util';
import * as yaml from 'yaml';
import type { Document, Node as YamlNode, YAMLMap } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { interpolateEnv } from './interpolate.js';
import { validateTypedVariables } from './typed-variables.js';
import { formatIssuePath } from './issues.js';
import { describeYamlError } from './parse-yaml.js';
import type { Config } from './types.js';

/** What `failover configure` may change; absent fields are left as they are. */
export interface FailoverChange {
  enabled?: boolean;
  order?: string[];
  retryAttempts?: number;
  retryDelay?: string;
  /** New `use:` chains for routing.rules, by rule index (`failover configure --apply-to-rules`). */
  ruleChains?: string[][];
}

export interface EditResult {
  text: string;
  /** Paths of the keys whose value changed, e.g. `failover.retry.delay`, `routing.rules[0].use`. */
  changedKeys: string[];
  /** True when the targeted splice could not be used and the whole document was re-serialised. */
  reformatted: boolean;
}

/** Keys of maps, and indexes (numbers) of sequences. */
type Path = readonly (string | number)[];
interface KeyEdit {
  path: Path;
  value: unknown;
}

export function failoverEdits(change: FailoverChange): KeyEdit[] {
  const edits: KeyEdit[] = [];
  if (change.enabled !== undefined) edits.push({ path: ['failover', 'enabled'], value: change.enabled });
  if (change.order !== undefined) edits.push({ path: ['failover', 'order'], value: change.order });
  if (change.retryAttempts !== undefined) edits.push({ path: ['failover', 'retry', 'attempts'], value: change.retryAttempts });
  if (change.retryDelay !== undefined) edits.push({ path: ['failover', 'retry', 'delay'], value: change.retryDelay });
  change.ruleChains?.forEach((chain, index) => edits.push({ path: ['routing', 'rules', index, 'use'], value: chain }));
  return edits;
}

/** Parses config text; broken YAML is a ConfigError with the line. */
export async function parseConfigText(text: string, filePath: string): Promise<unknown> {
  return parseChecked(text, filePath).toJS();
}

function parseChecked(text: string, filePath: string): Document.Parsed {
  const document = yaml.parseDocument(text, { uniqueKeys: true });
  const first = document.errors[0];
  if (first) {
    throw new ConfigError(`${filePath}: ${describeYamlError(first)}`, 'fix the file by hand first; nothing was written');
  }
  return document;
}

/**
 * Applies the change to the YAML text. Only the edited values' own source text is replaced, so
 * every other byte (comments, alignment, key order, quoting) stays as it was. A key that does not
 * exist yet is inserted as a new line at the end of its parent block. If a layout defeats the
 * targeted edit, the yaml Document API re-serialises the file instead (comments kept, alignment not).
 */
export async function applyFailoverChange(text: string, change: FailoverChange, filePath = 'config'): Promise<EditResult> {
  const original = parseChecked(text, filePath);
  const currentJs = original.toJS() as unknown;
  const edits = failoverEdits(change).filter((edit) => !isDeepStrictEqual(valueAt(currentJs, edit.path), edit.value));
  if (edits.length === 0) return { text, changedKeys: [], reformatted: false };

  const intended = original.clone();
  for (const edit of edits) setInDocument(intended, edit.path, edit.value);
  const intendedJs = intended.toJS() as unknown;

  let spliced: string | undefined = text;
  for (const edit of edits) {
    spliced = spliceEdit(spliced, edit);
    if (spliced === undefined) break;
  }
  const changedKeys = edits.map((edit) => formatIssuePath(edit.path));
  if (spliced !== undefined) {
    const check = yaml.parseDocument(spliced, { uniqueKeys: true });
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), intendedJs)) return { text: spliced, changedKeys, reformatted: false };
  }
  return { text: intended.toString(), changedKeys, reformatted: true };
}

function setInDocument(document: Document, path: Path, value: unknown): void {
  const parentPath = path.slice(0, -1);
  const parent = parentPath.length === 0 ? document.contents : document.getIn(parentPath, true);
  if (isNullScalar(parent)) document.setIn(parentPath, document.createNode({}));
  else if (parent !== undefined && parent !== null && !isCollection(parent)) {
    throw new ConfigError(`cannot set ${formatIssuePath(path)}: ${formatIssuePath(parentPath)} is not a map in the config`, `make ${formatIssuePath(parentPath)} a map (or remove it) and run again`);
  }
  document.setIn(path, document.createNode(value, { flow: Array.isArray(value) }));
}

function isNullScalar(node: unknown): boolean {
  return typeof node === 'object' && node !== null && 'value' in node && (node as { value: unknown }).value === null;
}

function isCollection(node: unknown): boolean {
  return typeof node === 'object' && node !== null && 'items' in node;
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) {
    if (!value || typeof value !== 'object' || Array.isArray(value) !== (typeof key === 'number')) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** One edit as a text splice; undefined when the layout is not one this function handles. */
function spliceEdit(text: string, edit: KeyEdit): string | undefined {
  const document = yaml.parseDocument(text, { uniqueKeys: true });
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const node = document.getIn(edit.path, true) as YamlNode | undefined;
  if (node?.range) return replaceNode(text, node, edit.value, newline);

  // The key is missing: find the deepest existing ancestor and insert below it.
  for (let depth = edit.path.length - 1; depth >= 0; depth--) {
    const ancestorPath = edit.path.slice(0, depth);
    const ancestor = (depth === 0 ? document.contents : document.getIn(ancestorPath, true)) as YamlNode | null | undefined;
    if (ancestor === undefined) continue;
    const missing = nest(edit.path.slice(depth), edit.value);
    if (ancestor === null || (yaml.isScalar(ancestor) && ancestor.value === null && depth === 0)) {
      return appendAtEnd(text, missing, newline);
    }
    if (!yaml.isMap(ancestor)) return undefined;
    if (ancestor.flow) {
      const merged = { ...(ancestor.toJSON() as Record<string, unknown>), ...missing };
      return replaceRange(text, ancestor.range!, renderFlow(merged, true));
    }
    return insertIntoBlockMap(text, ancestor, missing, newline);
  }
  return undefined;
}

function nest(keys: Path, value: unknown): Record<string, unknown> {
  return keys.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

function replaceNode(text: string, node: YamlNode, value: unknown, newline: string): string | undefined {
  const range = node.range!;
  if (range[0] === range[1]) return undefined; // `key:` with no value: let the Document API handle it
  if (Array.isArray(value)) {
    if (yaml.isSeq(node) && !node.flow) {
      const indent = ' '.repeat(columnOf(text, range[0]));
      // Each line keeps its comment (`- pm # primary`): it says what the place in the list is.
      const comments = node.items.map((item) => commentAfter(text, (item as YamlNode).range?.[1]));
      const items = value.map((item, i) => `- ${renderScalar(item)}${comments[i] ?? ''}`).join(newline + indent);
      return replaceRange(text, range, items + trailingWhitespace(text.slice(range[0], range[1])));
    }
    const padded = yaml.isSeq(node) && /^\[\s/.test(text.slice(range[0], range[1]));
    return replaceRange(text, range, renderFlow(value, padded));
  }
  if (!yaml.isScalar(node)) return undefined;
  return replaceRange(text, range, renderScalar(value));
}

/** The comment after a value on its line (` # primary`, spaces included), or ''. */
function commentAfter(text: string, valueEnd: number | undefined): string {
  if (valueEnd === undefined) return '';
  const lineEnd = text.indexOf('\n', valueEnd);
  const rest = text.slice(valueEnd, lineEnd < 0 ? text.length : lineEnd).replace(/\r$/, '');
  return /^\s+#/.test(rest) ? rest : '';
}

function insertIntoBlockMap(text: string, map: YAMLMap, entries: Record<string, unknown>, newline: string): string | undefined {
  const firstKey = map.items[0]?.key as YamlNode | undefined;
  const end = map.range?.[1];
  if (!firstKey?.range || end === undefined) return undefined;
  const indent = ' '.repeat(columnOf(text, firstKey.range[0]));
  const block = renderBlock(entries, newline)
    .map((line) => indent + line + newline)
    .join('');
  if (text[end - 1] === '\n') return text.slice(0, end) + block + text.slice(end);
  // The map runs to the end of a file without a final newline.
  return end === text.length ? text + newline + block : undefined;
}

function appendAtEnd(text: string, entries: Record<string, unknown>, newline: string): string {
  const block = renderBlock(entries, newline).map((line) => line + newline).join('');
  if (text.length === 0) return block;
  return text + (text.endsWith('\n') ? '' : newline) + block;
}

/** Block YAML for new keys; sequences of names stay on one line, as in the example config. */
function renderBlock(entries: Record<string, unknown>, newline: string): string[] {
  const lines: string[] = [];
  const walk = (value: Record<string, unknown>, indent: string) => {
    for (const [key, item] of Object.entries(value)) {
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        lines.push(`${indent}${renderScalar(key)}:`);
        walk(item as Record<string, unknown>, indent + '  ');
      } else {
        lines.push(`${indent}${renderScalar(key)}: ${Array.isArray(item) ? renderFlow(item, false) : renderScalar(item)}`);
      }
    }
  };
  walk(entries, '');
  return lines.flatMap((line) => line.split(newline));
}

function renderScalar(value: unknown): string {
  return yaml.stringify(value, { lineWidth: 0 }).trimEnd();
}

function renderFlow(value: unknown, padded: boolean): string {
  return yaml.stringify(value, { collectionStyle: 'flow', flowCollectionPadding: padded, lineWidth: 0 }).trimEnd();
}

function replaceRange(text: string, range: readonly number[], replacement: string): string {
  return text.slice(0, range[0]) + replacement + text.slice(range[1]);
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function trailingWhitespace(slice: string): string {
  return /\s*$/.exec(slice)![0];
}

/**
 * The problems validateConfig finds, one per line. `${VAR}` that is not set stays in place
 * instead of failing: editing the failover section must not need the sending secrets.
 */
function configProblems(raw: unknown, options: { filePath: string; baseDir: string }, env: NodeJS.ProcessEnv): { problems: string[]; config?: Config } {
  try {
    const { value, whole } = interpolateEnv(raw, env);
    return { problems: [], config: validateTypedVariables(value, whole, options) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: error.message.split('\n').slice(1).map((line) => line.trim()).filter(Boolean) };
  }
}

/**
 * Checks the edited text with the loader's own validation. Problems the file already had before
 * the edit are returned as warnings, not errors: they are not this command's to fix.
 */
export async function checkEditedConfig(
  before: string | undefined,
  after: string,
  options: { filePath: string; baseDir: string; env?: NodeJS.ProcessEnv },
): Promise<{ config?: Config; preexisting: string[] }> {
  const env = options.env ?? process.env;
  const existing = before === undefined ? [] : configProblems(await parseConfigText(before, options.filePath), options, env).problems;
  const result = configProblems(await parseConfigText(after, options.filePath), options, env);
  const introduced = result.problems.filter((problem) => !existing.includes(problem));
  if (introduced.length > 0) {
    throw new ConfigError(`the change would make ${options.filePath} invalid:\n  ${introduced.join('\n  ')}`, 'nothing was written; fix the answers above');
  }
  return { config: result.config, preexisting: existing };
}

export interface DiffLine {
  kind: ' ' | '-' | '+';
  text: string;
  /** 1-based line number in the old text (for ' ' and '-') or the new text (for '+'). */
  line: number;
}

/** Line diff (longest common subsequence over the part between the common prefix and suffix). */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const lcs: number[][] = Array.from({ length: midA.length + 1 }, () => new Array<number>(midB.length + 1).fill(0));
  for (let i = midA.length - 1; i >= 0; i--) {
    for (let j = midB.length - 1; j >= 0; j--) {
      lcs[i][j] = midA[i] === midB[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = a.slice(0, start).map((text, i) => ({ kind: ' ', text, line: i + 1 }));
  let i = 0;
  let j = 0;
  while (i < midA.length || j < midB.length) {
    if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
      out.push({ kind: ' ', text: midA[i], line: start + i + 1 });
      i++;
      j++;
    } else if (i < midA.length && (j === midB.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ kind: '-', text: midA[i], line: start + i + 1 });
      i++;
    } else {
      out.push({ kind: '+', text: midB[j], line: start + j + 1 });
      j++;
    }
  }
  a.slice(endA).forEach((text, k) => out.push({ kind: ' ', text, line: endA + k + 1 }));
  return out;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Unified-style hunks with `context` unchanged lines around each change; empty when equal. */
export function renderDiff(diff: DiffLine[], options: { context?: number; paint?: (kind: DiffLine['kind'], line: string) => string } = {}): string[] {
  const context = options.context ?? 2;
  const paint = options.paint ?? ((_kind, line) => line);
  const changed = diff.map((line, index) => (line.kind === ' ' ? -1 : index)).filter((index) => index >= 0);
  if (changed.length === 0) return [];
  const shown = new Set<number>();
  for (const index of changed) for (let k = index - context; k <= index + context; k++) if (k >= 0 && k < diff.length) shown.add(k);
  const out: string[] = [];
  let previous = -2;
  for (let index = 0; index < diff.length; index++) {
    if (!shown.has(index)) continue;
    if (index !== previous + 1) out.push(paint(' ', `@@ line ${diff[index].line} @@`));
    out.push(paint(diff[index].kind, `${diff[index].kind} ${diff[index].text}`));
    previous = index;
  }
  return out;
}
