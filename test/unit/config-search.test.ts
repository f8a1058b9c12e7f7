import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, SEARCH_PLACES } from '../../src/config/load.js';
import { findConfigCandidate } from '../../src/config/search.js';

/** A directory tree under a fresh temp dir that has a package.json, so no search climbs out of it. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'penguinmails-search-'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "app" }');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  return root;
}

const PROVIDER = 'providers:\n  pm: { type: postmark, serverToken: x }\n';

describe('finding the config file (as cosmiconfig would, loading it only for its own cases)', () => {
  it('finds nothing up to the directory holding package.json: the built-in defaults', async () => {
    const root = tree({ 'a/b/.keep': '' });
    expect(findConfigCandidate(path.join(root, 'a/b'), SEARCH_PLACES)).toBeUndefined();
    const config = await loadConfig({ cwd: path.join(root, 'a/b'), optional: true });
    expect(config.providers).toEqual({});
    expect(config.store).toMatchObject({ kind: 'sqlite', path: path.join(root, 'a/b/.penguinmails/outbox.db') });
  });

  it('reads a YAML file itself, from the start directory or one above it', async () => {
    const root = tree({ 'penguinmails.config.yaml': PROVIDER, 'sub/.keep': '' });
    expect(findConfigCandidate(path.join(root, 'sub'), SEARCH_PLACES)).toMatchObject({ kind: 'yaml', filePath: path.join(root, 'penguinmails.config.yaml') });
    expect(Object.keys((await loadConfig({ cwd: path.join(root, 'sub') })).providers)).toEqual(['pm']);
    const rc = tree({ '.penguinmailsrc': PROVIDER });
    expect((await loadConfig({ cwd: rc })).filePath).toBe(path.join(rc, '.penguinmailsrc'));
  });

  it('leaves package.json keys and JSON files to cosmiconfig, with the same result', async () => {
    const pkg = mkdtempSync(path.join(tmpdir(), 'penguinmails-search-'));
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'app', penguinmails: { providers: { pm: { type: 'postmark', serverToken: 'x' } } } }));
    expect(findConfigCandidate(pkg, SEARCH_PLACES)).toEqual({ kind: 'cosmiconfig' });
    expect((await loadConfig({ cwd: pkg })).filePath).toBe(path.join(pkg, 'package.json'));
    const json = tree({ '.penguinmailsrc.json': JSON.stringify({ providers: { pm: { type: 'postmark', serverToken: 'x' } } }) });
    expect(findConfigCandidate(json, SEARCH_PLACES)).toEqual({ kind: 'cosmiconfig' });
    expect(Object.keys((await loadConfig({ cwd: json })).providers)).toEqual(['pm']);
  });

  it('reports an empty or comment-only file found by the search, as before', async () => {
    await expect(loadConfig({ cwd: tree({ 'penguinmails.config.yaml': '' }) })).rejects.toThrow(/is empty: it has no settings/);
    await expect(loadConfig({ cwd: tree({ 'penguinmails.config.yaml': '# only a comment\n' }) })).rejects.toThrow(/is empty: it has no settings/);
  });

  it('passes over a directory standing where a config file could be', async () => {
    const root = tree({ 'penguinmails.config.yaml/.keep': '', '.penguinmailsrc.yaml': PROVIDER });
    expect((await loadConfig({ cwd: root })).filePath).toBe(path.join(root, '.penguinmailsrc.yaml'));
  });
});
