import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The first config file cosmiconfig's 'project' search would find from `cwd`, looked for without
 * loading cosmiconfig (a dozen CommonJS modules): most runs of `cost estimate` have no config at all.
 *
 * - undefined: there is none (no candidate file exists, and no package.json has a `penguinmails` key);
 * - kind 'yaml': a YAML (or extension-less) file, with its text, which load.ts reads as cosmiconfig would;
 * - kind 'cosmiconfig': a case with rules of cosmiconfig's own (a JSON file, a package.json key,
 *   cosmiconfig's meta settings in `cwd`): the caller asks cosmiconfig.
 */
export type ConfigCandidate = { kind: 'yaml'; filePath: string; text: string } | { kind: 'cosmiconfig' };

/** cosmiconfig's own settings (in the directory it starts from) may change where it looks. */
const META_PLACES = ['package.yaml', '.config/config.json', '.config/config.yaml', '.config/config.yml'];

export function findConfigCandidate(cwd: string, searchPlaces: readonly string[]): ConfigCandidate | undefined {
  const start = path.resolve(cwd);
  if (META_PLACES.some((place) => isFile(path.join(start, place)))) return { kind: 'cosmiconfig' };
  const startPackage = readPackageJson(path.join(start, 'package.json'));
  if (startPackage === 'unreadable' || (startPackage && Object.hasOwn(startPackage, 'cosmiconfig'))) return { kind: 'cosmiconfig' };

  for (let dir = start; ; dir = path.dirname(dir)) {
    for (const place of searchPlaces) {
      const filePath = path.join(dir, place);
      if (place === 'package.json') {
        const json = readPackageJson(filePath);
        if (json === 'unreadable' || (json && Object.hasOwn(json, 'penguinmails'))) return { kind: 'cosmiconfig' };
        continue;
      }
      const text = readText(filePath);
      if (text === undefined) continue;
      return place.endsWith('.json') ? { kind: 'cosmiconfig' } : { kind: 'yaml', filePath, text };
    }
    // The 'project' search stops at the first directory with a package file, else at the root.
    if (isFile(path.join(dir, 'package.json')) || isFile(path.join(dir, 'package.yaml'))) return undefined;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function isFile(filePath: string): boolean {
  return statSync(filePath, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** A file's text; undefined where cosmiconfig passes over it (missing, a directory, unreadable). */
function readText(filePath: string): string | undefined {
  // Asked first without an exception: most places do not exist, and a thrown ENOENT costs its stack.
  if (!isFile(filePath)) return undefined;
  try {
    return readFileSync(filePath, 'utf8');
  } catch (error) {
    if (['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}

/** A package.json's object; undefined if there is none; 'unreadable' for anything cosmiconfig should judge. */
function readPackageJson(filePath: string): Record<string, unknown> | undefined | 'unreadable' {
  const text = readText(filePath);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : 'unreadable';
  } catch {
    return 'unreadable';
  }
}
