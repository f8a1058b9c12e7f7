/**
 * Exact money. Amounts are integer nano-dollars (1e-9 USD) as bigint, so a per-email price such as
 * $1.80 per 1,000 ($0.0018 each) is a whole number and no sum ever drifts. Invoice lines are
 * rounded once, to whole cents, and totals are sums of those rounded lines.
 */
export type Nanos = bigint;
/** Whole US cents. */
export type Cents = number;

const NANOS_PER_DOLLAR = 1_000_000_000n;
const NANOS_PER_CENT = 10_000_000n;

/**
 * Parses a dollar amount exactly from its decimal text (the number's shortest representation,
 * so 1.8 is read as "1.8", never as 1.79999…). More than 9 decimals is refused.
 */
export function dollars(amount: number | string): Nanos {
  const text = typeof amount === 'number' ? numberToPlainText(amount) : amount.trim();
  const match = /^(-?)(\d+)(?:\.(\d{0,9}))?$/.exec(text);
  if (!match) throw new RangeError(`not a dollar amount with at most 9 decimals: ${text}`);
  const [, sign, whole, fraction = ''] = match;
  const value = BigInt(whole) * NANOS_PER_DOLLAR + BigInt(fraction.padEnd(9, '0'));
  return sign ? -value : value;
}

function numberToPlainText(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite amount: ${value}`);
  const text = String(value);
  // 1e-7 and friends: expand without going through float arithmetic.
  return /e/i.test(text) ? value.toFixed(20).replace(/\.?0+$/, '') : text;
}

/** Cost of `emails` at a price per 1,000, exact. */
export function perThousand(emails: number, pricePer1k: Nanos): Nanos {
  return (BigInt(emails) * pricePer1k) / 1000n;
}

/** Price of a single email at a price per 1,000 (exact while the price has at most 6 decimals). */
export function perEmail(pricePer1k: Nanos): Nanos {
  return pricePer1k / 1000n;
}

/** Rounds to whole cents, half away from zero (how invoices round a line). */
export function toCents(amount: Nanos): Cents {
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const cents = (magnitude + NANOS_PER_CENT / 2n) / NANOS_PER_CENT;
  return Number(negative ? -cents : cents);
}

export function sumCents(values: readonly Cents[]): Cents {
  return values.reduce((sum, value) => sum + value, 0);
}

/**
 * Money in JSON and CSV: a plain number of US dollars (126, 1.8, 0.0018). The number is the nearest
 * double to the exact decimal, so it prints back as that decimal; sum it as a decimal, not a float.
 */
export function centsToDollars(cents: Cents): number {
  return cents / 100;
}

/** The exact amount as a number of US dollars: 0.0018, 15. */
export function nanosToDollars(amount: Nanos): number {
  return Number(nanosToDecimal(amount));
}

/** "1234.56" — for human text that needs the cents written out. */
export function centsToDecimal(cents: Cents): string {
  const negative = cents < 0;
  const magnitude = Math.abs(cents);
  const text = `${Math.floor(magnitude / 100)}.${String(magnitude % 100).padStart(2, '0')}`;
  return negative ? `-${text}` : text;
}

/** "$1,234.56", "−$15.00". */
export function formatCents(cents: Cents): string {
  const negative = cents < 0;
  const [whole, fraction] = centsToDecimal(Math.abs(cents)).split('.');
  return `${negative ? '-' : ''}$${groupThousands(whole)}.${fraction}`;
}

/** An exact amount with as many decimals as it needs, at least 2: "0.0018", "15.00". */
export function nanosToDecimal(amount: Nanos): string {
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const whole = magnitude / NANOS_PER_DOLLAR;
  const fraction = (magnitude % NANOS_PER_DOLLAR).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** "$0.0018", "$1,015.00". */
export function formatNanos(amount: Nanos): string {
  const text = nanosToDecimal(amount);
  const negative = text.startsWith('-');
  const [whole, fraction] = (negative ? text.slice(1) : text).split('.');
  return `${negative ? '-' : ''}$${groupThousands(whole)}.${fraction}`;
}

export function groupThousands(digits: string | number): string {
  return String(digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
