import type { CatalogEntry } from '../../cost/catalog.js';

/**
 * Amazon SES's published plans: the built-in prices of `cost estimate` and `route explain`. Plain
 * data, apart from the adapter (ses.ts), so that prices are read without loading adapters or zod.
 */
export const sesCatalog: CatalogEntry = {
  readOn: '2026-08',
  source: 'aws.amazon.com/ses/pricing via the AWS price list (outbound email, à la carte)',
  plans: [
    {
      name: 'pay-as-you-go',
      monthly: 0,
      included: 0,
      overagePer1k: 0.1,
      unverified: 'from 2026-07-21 new accounts default to the Essentials tier ($0.16/1k) and the 3,000/month free tier is withdrawn; read from the AWS price list, not confirmed on the pricing page',
    },
    { name: 'essentials', monthly: 0, included: 0, overagePer1k: 0.16, unverified: 'the default for accounts opened from 2026-07-21; read from the AWS price list' },
  ],
};
