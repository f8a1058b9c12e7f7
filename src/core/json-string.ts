/** What JSON text cannot hold as it is: quotes, backslashes, control characters, and surrogates (JSON.stringify escapes a lone one). */
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A string as it reads inside JSON quotes (JSON.stringify's text without the quotes). Most values
 * need no escaping: they are returned as they are, without a copy.
 */
export function jsonStringContent(value: string): string {
  return NEEDS_JSON_ESCAPE.test(value) ? JSON.stringify(value).slice(1, -1) : value;
}
