import type { CatalogEntry } from '../../cost/catalog.js';

/**
 * SMTP (your own infrastructure, priced by config): the built-in entry of `cost estimate` and `route explain`. Plain
 * data, apart from the adapter (smtp.ts), so that prices are read without loading adapters or zod.
 */
export const smtpCatalog: CatalogEntry = {
  readOn: null,
  source: 'your own infrastructure: set pricing.<name>.monthly',
  plans: [{ name: 'infrastructure', monthly: 0, included: 'unlimited', overagePer1k: 0 }],
};
