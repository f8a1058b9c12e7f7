import type { CatalogEntry } from '../cost/catalog.js';
import { mailgunCatalog } from './catalog/mailgun.js';
import { postmarkCatalog } from './catalog/postmark.js';
import { sendgridCatalog } from './catalog/sendgrid.js';
import { sesCatalog } from './catalog/ses.js';
import { smtpCatalog } from './catalog/smtp.js';

/** What the cost model knows of a kind of ESP: its type and its price list. */
export interface ProviderTypeSummary {
  type: string;
  catalog: CatalogEntry;
}

/**
 * The light half of the registry (registry.ts): every provider type with its catalog, in display
 * order, without the adapters, their config schemas (zod) or SDK code. `cost estimate` and the
 * cost model read this; registry.ts adds the types a program registers, and checks that the
 * built-in definitions match this list (same types, order and catalog objects).
 */
const summaries: ProviderTypeSummary[] = [
  { type: 'postmark', catalog: postmarkCatalog },
  { type: 'mailgun', catalog: mailgunCatalog },
  { type: 'smtp', catalog: smtpCatalog },
  { type: 'sendgrid', catalog: sendgridCatalog },
  { type: 'ses', catalog: sesCatalog },
];
const types: string[] = summaries.map((summary) => summary.type);

/** Every provider type, in display order: the built-in ones, then those registered by a program. */
export const PROVIDER_TYPES: readonly string[] = types;
export const PROVIDER_TYPE_SUMMARIES: readonly ProviderTypeSummary[] = summaries;

export function findProviderTypeSummary(type: string): ProviderTypeSummary | undefined {
  return summaries.find((summary) => summary.type === type);
}

/** Called by registry.ts for each definition it registers; a built-in type is already listed. */
export function noteProviderType(summary: ProviderTypeSummary): void {
  const known = findProviderTypeSummary(summary.type);
  if (known) {
    if (known.catalog !== summary.catalog) throw new Error(`provider type "${summary.type}": its definition's catalog is not the one provider-types.ts lists`);
    return;
  }
  summaries.push({ type: summary.type, catalog: summary.catalog });
  types.push(summary.type);
}
