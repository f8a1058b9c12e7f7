// A config is read synchronously, as the search reads it (config/search.ts): node:fs is loaded
// with Node itself, node:fs/promises costs every command's start-up (#21).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { defaultConfig } from './defaults.js';
import { readPlainYaml } from './plain-yaml.js';
import { findConfigCandidate } from './search.js';
import type { Config } from './types.js';

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

/** A config file with no settings at all (0 bytes, blank, or only comments) is a mistake, not the defaults. */
export function emptyConfigError(filePath: string): ConfigError {
  return new ConfigError(
    `config ${filePath} is empty: it has no settings (only blank lines or comments)`,
    `copy penguinmails.config.example.yaml to ${path.basename(filePath)} and adjust it, or point --config at another file`,
  );
}

/**
 * Most config files are plain YAML, which readPlainYaml reads quickly; the yaml package (~250 KB)
 * is loaded only for the others, and to word what is wrong with a broken file.
 */
async function parseYaml(filePath: string, text: string): Promise<unknown> {
  const plain = readPlainYaml(text);
  if (plain !== undefined) return plain;
  const { parseConfigYaml } = await import('./parse-yaml.js');
  return parseConfigYaml(filePath, text);
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
      text = readFileSync(filePath, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(`cannot read config ${filePath}: ${code === 'ENOENT' ? 'no such file' : code}`, 'check the --config path (or PENGUINMAILS_CONFIG)');
    }
    if (text.trim() === '') throw emptyConfigError(filePath);
    const raw = filePath.endsWith('.json') ? parseJson(filePath, text) : await parseYaml(filePath, text);
    if (raw === null) throw emptyConfigError(filePath);
    return { filePath, raw };
  }
  const candidate = findConfigCandidate(cwd, SEARCH_PLACES);
  if (candidate === undefined) return undefined;
  if (candidate.kind === 'yaml') {
    // What cosmiconfig would do with this file (an empty one is found, then reported), without loading it.
    const raw = candidate.text.trim() === '' ? undefined : await parseYaml(candidate.filePath, candidate.text);
    if (raw === undefined) throw emptyConfigError(candidate.filePath);
    if (!Object.hasOwn(raw as object, '$import')) return { filePath: candidate.filePath, raw };
  }
  // JSON files, package.json, cosmiconfig's own settings and `$import`: cosmiconfig's rules apply.
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
    // The built-in defaults need no schema: `cost estimate` without a config loads no zod.
    if (options.optional) return defaultConfig(cwd);
    throw new ConfigError(
      'no penguinmails config found (looked for penguinmails.config.yaml, .penguinmailsrc.yaml, package.json#penguinmails)',
      'copy penguinmails.config.example.yaml to penguinmails.config.yaml, or pass --config <file>',
    );
  }
  // The schemas (zod, every adapter's) are loaded only for a config that has to be checked.
  const { configFromObject } = await import('./from-object.js');
  return configFromObject(found.raw, { ...options, filePath: found.filePath, baseDir: path.dirname(found.filePath) });
}
