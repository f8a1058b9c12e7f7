import { describe, it } from 'vitest';
import { openStoreAt } from '../../src/store/open-store.js';
import { defineStoreContract } from '../contract/store-contract.js';
import { freshSchema, postgresSettings, testPostgresUrl } from '../helpers/postgres.js';

const schemas: { drop: () => Promise<void> }[] = [];

if (testPostgresUrl()) {
  defineStoreContract('PostgreSQL', {
    async open() {
      // A schema of its own per case: every case starts from an empty store.
      const schema = freshSchema('pm_contract');
      schemas.push(schema);
      const settings = postgresSettings(schema.name);
      return { store: await openStoreAt(settings), another: () => openStoreAt(settings) };
    },
    async cleanup() {
      for (const schema of schemas.splice(0)) await schema.drop();
    },
  });
} else {
  describe.skip('store contract on PostgreSQL (no server: see the notice above)', () => it('skipped', () => {}));
}
