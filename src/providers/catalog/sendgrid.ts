import type { CatalogEntry } from '../../cost/catalog.js';

/**
 * SendGrid's published plans: the built-in prices of `cost estimate` and `route explain`. Plain
 * data, apart from the adapter (sendgrid.ts), so that prices are read without loading adapters or zod.
 */
export const sendgridCatalog: CatalogEntry = {
  readOn: '2026-03',
  source: 'sendgrid.com/pricing as summarised in 2026 (SendGrid’s own page not read); the free plan became a 60-day trial in 2025',
  plans: [
    { name: 'essentials', monthly: 19.95, included: 50_000, overagePer1k: null, unverified: 'read from a 2026 summary; Essentials has no published overage: the next plan up is needed' },
    { name: 'pro', monthly: 89.95, included: 100_000, overagePer1k: null, unverified: 'read from a 2026 summary; higher Pro volumes are priced by SendGrid on request' },
  ],
};
