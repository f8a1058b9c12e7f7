import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { interpolateEnv } from './interpolate.js';
import { isWebhookSetting } from './unresolved-env.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

export interface LoadOptions {
  /** `--config`: an explicit file, which must exist. */
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** When false, a missing `${VAR}` is left in place instead of failing (commands that send nothing). */
  requireEnv?: boolean;
  /** When true, having no config file at all gives the built-in defaults instead of an error. */
  optional?: boolean;
  /** With requireEnv false: told of each missing `${VAR}` (a dry run says what a real send would stop at). */
  warn?: (message: string) => void;
}

export const SEARCH_PLACES = [
  'package.json',
  'penguinmails.config.yaml',
  'penguinmails.config.yml',
  '.penguinmailsrc',
  '.penguinmailsrc.yaml',
  '.penguinmailsrc.yml',
  '.penguinmailsrc.json',
  '.config/penguinmailsrc.yaml',
  '.config/penguinmailsrc.yml',
];

/** A yaml parse error as one line: its message with the position said once. */
export function describeYamlError(error: YAMLError): string {
  // With prettyErrors the message ends in " at line L, column C:" plus a code frame; keep the first part.
  const message = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  const position = error.linePos ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})` : '';
  return `broken YAML: ${message}${position}`;
}

/** A config file with no settings at all (0 bytes, blank, or only comments) is a mistake, not the defaults. */
export function emptyConfigError(filePath: string): ConfigError {
  return new ConfigError(
    `config ${filePath} is empty: it has no settings (only blank lines or comments)`,
    `copy penguinmails.config.example.yaml to ${path.basename(filePath)} and adjust it, or point --config at another file`,
  );
}

async function parseYaml(filePath: string, text: string): Promise<unknown> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(`${filePath}: ${describeYamlError(document.errors[0])}`, 'check indentation and quoting at that line');
  }
  const value = document.toJS() as unknown;
  if (value === null || value === undefined) throw emptyConfigError(filePath);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config ${filePath} must be a map of settings (defaults:, providers:, failover:, …), not ${Array.isArray(value) ? 'a list' : 'a single value'}`, 'see penguinmails.config.example.yaml for its shape');
  }
  return value;
}

/** Finds the config file: --config, then PENGUINMAILS_CONFIG, then a cosmiconfig search. */
export async function findConfigFile(options: LoadOptions): Promise<{ filePath: string; raw: unknown } | undefined> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.configPath ?? env.PENGUINMAILS_CONFIG;
  if (explicit) {
    const filePath = path.resolve(cwd, explicit);
    let text: string;
    try {
      text = await readFile(filePath, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(`cannot read config ${filePath}: ${code === 'ENOENT' ? 'no such file' : code}`, 'check the --config path (or PENGUINMAILS_CONFIG)');
    }
    if (text.trim() === '') throw emptyConfigError(filePath);
    const raw = filePath.endsWith('.json') ? parseJson(filePath, text) : await parseYaml(filePath, text);
    if (raw === null) throw emptyConfigError(filePath);
    return { filePath, raw };
  }
  const { cosmiconfig } = await import('cosmiconfig');
  const yamlLoader = (filePath: string, text: string) => parseYaml(filePath, text);
  const explorer = cosmiconfig('penguinmails', {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'project',
    // An empty file found by the search is reported below instead of being passed over.
    ignoreEmptySearchPlaces: false,
    loaders: { '.yaml': yamlLoader, '.yml': yamlLoader, noExt: yamlLoader },
  });
  const found = await explorer.search(cwd);
  if (!found) return undefined;
  if (found.isEmpty) throw emptyConfigError(found.filepath);
  return { filePath: found.filepath, raw: found.config };
}

function parseJson(filePath: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${filePath}: broken JSON: ${(error as Error).message}`);
  }
}

export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const cwd = options.cwd ?? process.cwd();
  const found = await findConfigFile(options);
  if (!found) {
    if (options.optional) return validateConfig({}, { baseDir: cwd });
    throw new ConfigError(
      'no penguinmails config found (looked for penguinmails.config.yaml, .penguinmailsrc.yaml, package.json#penguinmails)',
      'copy penguinmails.config.example.yaml to penguinmails.config.yaml, or pass --config <file>',
    );
  }
  return configFromObject(found.raw, { ...options, filePath: found.filePath, baseDir: path.dirname(found.filePath) });
}

/**
 * A config given as an object (the file's shape, `${VAR}`s included): the library's
 * `createMailer({ config: {…} })`, and every file once parsed. Relative paths resolve from baseDir.
 */
export function configFromObject(raw: unknown, options: Pick<LoadOptions, 'env' | 'requireEnv' | 'warn'> & { filePath?: string; baseDir: string }): Config {
  const label = options.filePath ?? 'config';
  const { value, missing } = interpolateEnv(raw, options.env ?? process.env);
  // A provider's own secrets are needed only when a message goes through it (SPEC send): they are
  // checked against the route's chain (assertChainResolved), not here.
  const ofProvider = (path: string) => /^providers\.[^.[]+/.exec(path)?.[0].slice('providers.'.length);
  const needed = missing.filter((m) => ofProvider(m.path) === undefined);
  if (needed.length > 0 && options.requireEnv !== false) {
    const lines = needed.map((m) => `${m.path}: environment variable ${m.variable} is not set`);
    throw new ConfigError(`config ${label}:\n  ${lines.join('\n  ')}`, `export ${needed[0].variable}=… before running penguinmails`);
  }
  if (options.requireEnv === false) {
    for (const m of missing) {
      const provider = ofProvider(m.path);
      const stops = provider === undefined ? 'a real send would stop here' : `a real send through ${provider} would stop here`;
      options.warn?.(`config ${label}: ${m.path}: environment variable ${m.variable} is not set (${stops})`);
    }
  }
  const config = validateConfig(value, { filePath: options.filePath, baseDir: options.baseDir });
  // Only with requireEnv false (a command that sends nothing): the alert webhook stays silent.
  const alertSecret = missing.find((m) => m.path === 'alerts.webhook.secret');
  if (alertSecret && config.alerts.webhook) config.alerts.webhook.unresolvedVariable = alertSecret.variable;
  for (const m of missing) {
    const provider = ofProvider(m.path);
    if (provider === undefined) continue;
    // A webhook's secret is not needed to send: only that provider's webhook waits for it.
    const unresolved = isWebhookSetting(config, provider, m.path) ? config.unresolvedWebhookEnv : config.unresolvedEnv;
    (unresolved[provider] ??= []).push(m);
  }
  return config;
}
