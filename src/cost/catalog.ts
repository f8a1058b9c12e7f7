/**
 * Built-in list prices, keyed by provider type. Config `pricing` (keyed by provider name or type)
 * overrides them. Money in USD; `overagePer1k: null` = hard cap, nothing can be sent beyond `included`.
 */
export interface CatalogPlan {
  name: string;
  monthly: number;
  /** Emails included in the monthly fee; 'unlimited' for flat-cost infrastructure. */
  included: number | 'unlimited';
  overagePer1k: number | null;
  /** Why this figure should be checked before relying on it. */
  unverified?: string;
}

export interface CatalogEntry {
  type: string;
  /** When the published prices were read; null when there is no list price. */
  readOn: string | null;
  source: string;
  /** Cheapest-first is not required: the model compares every plan. */
  plans: CatalogPlan[];
}

export const CATALOG: Readonly<Record<string, CatalogEntry>> = {
  postmark: {
    type: 'postmark',
    readOn: '2026-01',
    source: 'postmarkapp.com/pricing',
    plans: [
      { name: 'free', monthly: 0, included: 100, overagePer1k: null },
      { name: 'basic', monthly: 15, included: 10_000, overagePer1k: 1.8 },
      { name: 'pro', monthly: 16.5, included: 10_000, overagePer1k: 1.3, unverified: 'overage read from a reseller summary, not Postmark' },
      { name: 'platform', monthly: 18, included: 10_000, overagePer1k: 1.2, unverified: 'overage read from a reseller summary, not Postmark' },
    ],
  },
  mailgun: {
    type: 'mailgun',
    readOn: '2026-01',
    source: 'third-party summaries of mailgun.com/pricing (Mailgun’s own page not read)',
    plans: [
      { name: 'flex', monthly: 0, included: 0, overagePer1k: 2.0, unverified: 'pay-as-you-go raised to $2.00/1k in Dec 2025 (was $1.00)' },
      { name: 'basic', monthly: 15, included: 10_000, overagePer1k: 1.8, unverified: 'Basic overage not published where read; $1.80/1k assumed' },
      { name: 'foundation', monthly: 35, included: 50_000, overagePer1k: 1.3 },
      { name: 'scale', monthly: 90, included: 100_000, overagePer1k: 1.1, unverified: 'Scale overage reported between $0.60 and $1.10/1k; $1.10 assumed' },
    ],
  },
  smtp: {
    type: 'smtp',
    readOn: null,
    source: 'your own infrastructure: set pricing.<name>.monthly',
    plans: [{ name: 'infrastructure', monthly: 0, included: 'unlimited', overagePer1k: 0 }],
  },
};

export function catalogEntry(type: string): CatalogEntry | undefined {
  return Object.hasOwn(CATALOG, type) ? CATALOG[type] : undefined;
}
