/**
 * Config problems in the user's words: a zod issue becomes `path: what is wrong`, without zod's
 * own phrasing ("Invalid input: expected string, received undefined"), and an unknown key gets
 * a "did you mean" from the keys the schema allows at that place.
 */
import type { z } from 'zod';
import { closestMatch } from '../core/suggest.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;
type Path = readonly PropertyKey[];

export function formatIssuePath(parts: Path): string {
  return parts.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

/** zod's built-in messages start like this; a message written in a schema is kept as it is. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid input|Invalid option|Invalid key|Invalid element|Invalid string|Invalid number|Too small|Too big|Unrecognized key)/;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map of keys',
  record: 'a map of keys',
  null: 'null',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) {
    if (!value || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** What the schema accepts at `path`, unwrapping optional/default/pipe layers. */
function schemaAt(schema: AnySchema | undefined, path: Path): AnySchema | undefined {
  let current = unwrap(schema);
  for (const key of path) {
    if (!current) return undefined;
    const def = current._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'object') current = unwrap((def.shape as Record<string, AnySchema>)[String(key)]);
    else if (def.type === 'array') current = unwrap(def.element as AnySchema);
    else if (def.type === 'record') current = unwrap(def.valueType as AnySchema);
    else return undefined;
  }
  return current;
}

function unwrap(schema: AnySchema | undefined): AnySchema | undefined {
  let current = schema;
  for (let depth = 0; current && depth < 20; depth++) {
    const def = current._zod.def as unknown as Record<string, unknown>;
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type as string)) current = def.innerType as AnySchema;
    else if (def.type === 'pipe') current = def.in as AnySchema;
    else return current;
  }
  return current;
}

function acceptsNull(schema: AnySchema, path: Path): boolean {
  if (path.length === 0) return false;
  const parent = schemaAt(schema, path.slice(0, -1))?._zod.def as unknown as Record<string, unknown> | undefined;
  if (parent?.type !== 'object') return false;
  let field = (parent.shape as Record<string, AnySchema>)[String(path[path.length - 1])];
  for (let depth = 0; field && depth < 20; depth++) {
    const def = field._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'nullable') return true;
    if (!('innerType' in def)) return false;
    field = def.innerType as AnySchema;
  }
  return false;
}

function knownKeysAt(schema: AnySchema | undefined, path: Path): string[] {
  const def = schemaAt(schema, path)?._zod.def as unknown as Record<string, unknown> | undefined;
  return def?.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
}

function unknownKeyProblem(where: string, key: string, known: string[]): string {
  const suggestion = closestMatch(key, known);
  if (suggestion) return `${where}: unknown key "${key}" — did you mean "${suggestion}"?`;
  return `${where}: unknown key "${key}"${known.length > 0 ? ` (allowed here: ${known.join(', ')})` : ''}`;
}

/** The types a union accepts, from its branches' type errors ("a string or a number"). */
function unionTypes(issue: Extract<Issue, { code: 'invalid_union' }>): string[] {
  const names = issue.errors.flatMap((branch) => branch.filter((sub) => sub.code === 'invalid_type' && sub.path.length === 0).map((sub) => typeName((sub as { expected: string }).expected)));
  return [...new Set(names)];
}

function bound(issue: { origin: string; inclusive?: boolean }, limit: number | bigint | Date, smaller: boolean): string {
  const n = Number(limit);
  if (issue.origin === 'string') return smaller ? (n <= 1 ? 'must not be empty' : `must be at least ${n} characters`) : `must be at most ${n} characters`;
  if (issue.origin === 'array' || issue.origin === 'set') return smaller ? `give at least ${n}` : `give at most ${n}`;
  if (smaller) return issue.inclusive === false ? `must be more than ${n}` : `must be at least ${n}`;
  return issue.inclusive === false ? `must be less than ${n}` : `must be at most ${n}`;
}

/** The text after `path: ` for one issue whose message is zod's own. */
function plainMessage(issue: Issue, value: unknown, nullable: boolean): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = `${typeName(issue.expected)}${nullable ? ' or null' : ''}`;
      return value === undefined ? `required (${expected})` : `must be ${expected}`;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return bound(issue, issue.minimum, true);
    case 'too_big':
      return bound(issue, issue.maximum, false);
    case 'invalid_union': {
      const types = unionTypes(issue);
      return types.length > 0 ? `${value === undefined ? 'required' : 'must be'} ${types.join(' or ')}` : 'not a value this key accepts';
    }
    case 'invalid_key':
      return issue.issues[0] && !ZOD_DEFAULT_MESSAGE.test(issue.issues[0].message) ? issue.issues[0].message : 'this key is not allowed here';
    case 'invalid_format':
      return `not a valid ${issue.format}`;
    default:
      return 'not a value this key accepts';
  }
}

/**
 * One line per problem, each starting with its path in the file. `raw` is the value that was
 * checked and `schema` the schema it was checked against (for the keys an unknown key may have
 * meant); `prefix` is where that value sits in the file.
 */
export function describeIssues(issues: readonly Issue[], raw: unknown, schema: AnySchema, prefix: Path = []): string[] {
  return issues.flatMap((issue) => {
    const where = formatIssuePath([...prefix, ...issue.path]) || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys.map((key) => unknownKeyProblem(where, key, known));
    }
    const message = ZOD_DEFAULT_MESSAGE.test(issue.message) ? plainMessage(issue, valueAt(raw, issue.path), acceptsNull(schema, issue.path)) : issue.message;
    return [`${where}: ${message}`];
  });
}
