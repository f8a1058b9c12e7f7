import type { CatalogEntry } from '../../cost/catalog.js';

/**
 * Postmark's published plans: the built-in prices of `cost estimate` and `route explain`. Plain
 * data, apart from the adapter (postmark.ts), so that prices are read without loading adapters or zod.
 */
export const postmarkCatalog: CatalogEntry = {
  readOn: '2026-08',
  source: 'postmarkapp.com/pricing (2026-08 summary); the 50k tier from https://postmarkapp.com/support/article/1286-postmark-invoices-explained',
  plans: [
    { name: 'free', monthly: 0, included: 100, overagePer1k: null },
    { name: 'basic', monthly: 15, included: 10_000, overagePer1k: 1.8 },
    { name: 'pro', monthly: 16.5, included: 10_000, overagePer1k: 1.3, unverified: 'overage read from a reseller summary, not Postmark' },
    { name: 'platform', monthly: 18, included: 10_000, overagePer1k: 1.2, unverified: 'overage read from a reseller summary, not Postmark' },
    // The pricing slider's higher tiers (125k, 300k; an older copy of support article 1286 names both)
    // are left out: their prices were not confirmed (the one listing found, third-party, gives 50k at
    // $50 where Postmark's own article says $55). Past 50,000 the 10k plans' overage prices the volume.
    { name: 'basic-50k', monthly: 55, included: 50_000, overagePer1k: null, unverified: 'its overage rate was not read: priced as capped at 50,000' },
  ],
  hybridDefaultFor: 'transactional',
};
