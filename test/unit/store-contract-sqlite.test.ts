import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { defineStoreContract } from '../contract/store-contract.js';

const dirs: string[] = [];

defineStoreContract('SQLite', {
  async open() {
    const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-contract-'));
    dirs.push(dir);
    const file = path.join(dir, 'outbox.db');
    return { store: await SqliteStore.open(file), another: () => SqliteStore.open(file) };
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
});
