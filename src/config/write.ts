import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';
import { findConfigFile } from './load.js';

/**
 * Shipped at the package root (see package.json `files`): two levels up from src/config, dist/config
 * and dist/bundle, where this code runs once bundled (keep the bundle two levels deep).
 */
export const EXAMPLE_CONFIG_PATH = fileURLToPath(new URL('../../penguinmails.config.example.yaml', import.meta.url));
export const DEFAULT_CONFIG_NAME = 'penguinmails.config.yaml';

export interface EditableConfig {
  filePath: string;
  /** The file's current text, or the example's text when the file does not exist yet. */
  text: string;
  exists: boolean;
}

/**
 * The YAML file `failover configure` should edit: `--config`, else PENGUINMAILS_CONFIG, else the
 * file the loader would find, else a new penguinmails.config.yaml in `cwd` started from the example.
 */
export async function findEditableConfig(options: { configPath?: string; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<EditableConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.configPath ?? env.PENGUINMAILS_CONFIG;
  const filePath = explicit ? path.resolve(cwd, explicit) : (await findConfigFile({ cwd, env }))?.filePath;
  if (!filePath) return newFromExample(path.join(cwd, DEFAULT_CONFIG_NAME));
  if (/\.(json|js|cjs|mjs|ts)$/.test(filePath)) {
    throw new ConfigError(
      `${filePath} is not a YAML file; failover configure only edits YAML configs`,
      'edit the failover section by hand, or move the config to penguinmails.config.yaml',
    );
  }
  try {
    return { filePath, text: await readFile(filePath, 'utf8'), exists: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return newFromExample(filePath);
    throw new ConfigError(`cannot read config ${filePath}: ${code}`);
  }
}

async function newFromExample(filePath: string): Promise<EditableConfig> {
  return { filePath, text: await readFile(EXAMPLE_CONFIG_PATH, 'utf8'), exists: false };
}

/**
 * Replaces the file in one step: a reader (or a crash) sees the old file or the new one, never
 * half of one. The temp file sits in the same directory because rename is only atomic within a
 * file system. Symlinks are followed so the link itself survives, and the file keeps its mode.
 */
export async function writeFileAtomic(filePath: string, text: string): Promise<void> {
  const target = await realpath(filePath).catch(() => filePath);
  const directory = path.dirname(target);
  await mkdir(directory, { recursive: true });
  const mode = await stat(target).then(
    (stats) => stats.mode & 0o777,
    () => undefined,
  );
  const temp = path.join(directory, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode ?? 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
