import type { CatalogEntry } from '../../cost/catalog.js';

/**
 * Mailgun's published plans: the built-in prices of `cost estimate` and `route explain`. Plain
 * data, apart from the adapter (mailgun.ts), so that prices are read without loading adapters or zod.
 */
export const mailgunCatalog: CatalogEntry = {
  readOn: '2026',
  source:
    'third-party summaries of mailgun.com/pricing and Mailgun’s help centre (Mailgun’s pricing page not read); Scale’s overage tiers from https://help.mailgun.com/hc/en-us/articles/6745531451547 (read 2026-12)',
  plans: [
    { name: 'flex', monthly: 0, included: 0, overagePer1k: 2.0, unverified: 'pay-as-you-go raised to $2.00/1k in Dec 2025 (was $1.00)' },
    { name: 'basic', monthly: 15, included: 10_000, overagePer1k: 1.8, unverified: 'Basic overage not published where read; $1.80/1k assumed' },
    { name: 'foundation', monthly: 35, included: 50_000, overagePer1k: 1.3, unverified: 'overage $1.30/1k from a summary; Mailgun’s own older help article says $1.00' },
    // Mailgun's help article "What happens if I send more emails than my monthly plan provides?"
    // (6745531451547, read 2026-12) prices Scale's overage per 1,000 by how many emails the
    // account has sent so far that month: from 100,000 $0.80, from 250,000 $0.65 (500,000 too),
    // from 750,000 $0.50, from 1,000,000 $0.40, from 2,500,000 $0.35. Each email pays its own
    // tier's rate (graduated). The article is undated and gives Flex and Foundation $1.00, older
    // than the Dec 2025 prices above, and names the Control Panel as the final word: flagged.
    {
      name: 'scale',
      monthly: 90,
      included: 100_000,
      overage: [
        { upTo: 250_000, per1k: 0.8 },
        { upTo: 750_000, per1k: 0.65 },
        { upTo: 1_000_000, per1k: 0.5 },
        { upTo: 2_500_000, per1k: 0.4 },
        { upTo: null, per1k: 0.35 },
      ],
      unverified: 'overage tiers from an undated Mailgun help article whose other rates predate Dec 2025; the Control Panel is the final word',
    },
  ],
  hybridDefaultFor: 'marketing',
};
