import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openStoreAt } from '../../src/store/open-store.js';
import { freshSchema, postgresSettings, testPostgresUrl } from '../helpers/postgres.js';

// A store URL may carry server settings of its own (`?options=-c …`): pg lets them replace the
// ones penguinmails sets, which once dropped its search_path and put the tables in `public`.
if (!testPostgresUrl()) {
  describe.skip('a store URL with ?options= (no server: see the notice above)', () => it('skipped', () => {}));
} else {
  describe('a store URL with ?options=', () => {
    const ours = freshSchema('pm_url_options');
    // The URL's options name another search_path too: were ours dropped, the tables would go
    // there (a schema the test drops) rather than into `public` of the shared test database.
    const decoy = freshSchema('pm_url_decoy');
    afterAll(async () => {
      await ours.drop();
      await decoy.drop();
    });

    it("keeps the store in its schema, with the URL's settings too", async () => {
      const admin = new pg.Client({ connectionString: testPostgresUrl() });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA ${decoy.name}`);
        const url = new URL(testPostgresUrl());
        url.searchParams.set('options', `-c synchronous_commit=off -c search_path=${decoy.name}`);
        const store = await openStoreAt({ ...postgresSettings(ours.name), url: url.toString() });
        try {
          expect(await store.createKey('app', 'hash-of-a-key', Date.now())).toBe(true);
        } finally {
          await store.close();
        }
        const { rows } = await admin.query('SELECT to_regclass($1) AS ours, to_regclass($2) AS decoy', [`${ours.name}.api_keys`, `${decoy.name}.api_keys`]);
        expect(rows[0]).toEqual({ ours: `${ours.name}.api_keys`, decoy: null });
        expect((await admin.query(`SELECT name FROM ${ours.name}.api_keys`)).rows).toEqual([{ name: 'app' }]);
      } finally {
        await admin.end();
      }
    });
  });
}
