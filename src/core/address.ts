/**
 * Email address checks. Deliberately stricter than RFC 5322: what ESP APIs accept in practice.
 * Accepts `user@example.com`, `Display Name <user@example.com>` and `"Doe, Jane" <j@example.com>`.
 *
 * An unquoted display name may not hold RFC 5322's specials: with them, a mail library or an ESP
 * reads the text as something else than the one address checked here — `g:victim@x; <ok@y>` is a
 * group that mails victim@x, past the suppression list and the recipient count.
 */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export interface ParsedAddress {
  name?: string;
  address: string;
}

/** A display name as words: anything but the specials ( ) < > [ ] : ; @ \ , " and control characters. */
const PLAIN_NAME = /^[^()<>[\]:;@\\,"\x00-\x1f\x7f]+$/;
/**
 * A display name in quotes, where only `\"` and `\\` (or any `\x`) are escapes; never `<` or `>`,
 * which a lenient parser downstream could take for the start of the address.
 */
const QUOTED_NAME = /^"((?:[^"\\<>\x00-\x1f\x7f]|\\[^<>\x00-\x1f\x7f])*)"$/;

/** `Name <a@b>` as its display-name text and address text (the name undefined for a bare address); nothing is checked. */
function splitNamed(input: string): { nameText?: string; addressText: string } {
  const trimmed = input.trim();
  const named = /^(.*?)\s*<([^<>]+)>$/.exec(trimmed);
  return named ? { nameText: named[1].trim(), addressText: named[2].trim() } : { addressText: trimmed };
}

export function parseAddress(input: string): ParsedAddress | undefined {
  if (/[\r\n\0]/.test(input)) return undefined;
  const { nameText, addressText: address } = splitNamed(input);
  if (!isBareAddress(address)) return undefined;
  if (!nameText) return { address };
  const quoted = QUOTED_NAME.exec(nameText);
  if (quoted) return quoted[1] === '' ? { address } : { name: quoted[1].replace(/\\(.)/g, '$1'), address };
  return PLAIN_NAME.test(nameText) ? { name: nameText, address } : undefined;
}

/**
 * One recipient of a bulk list, as a list file's row or a bulk request's `recipients[].email`
 * gives it: a bare address (not `Name <address>`), spaces around it allowed, line breaks anywhere not.
 */
export function isRecipientAddress(email: string): boolean {
  return !NOT_IN_A_RECIPIENT_ADDRESS.test(email) && isBareAddress(email.trim());
}

/** Made once: a regular expression literal in a function makes a new RegExp object at each call, here each row. */
const NOT_IN_A_RECIPIENT_ADDRESS = /[\r\n\0<>]/;

/** Whether an address that does not parse is refused for its display name alone (a group, a comment, specials). */
export function onlyTheDisplayNameIsWrong(input: string): boolean {
  const { nameText, addressText } = splitNamed(input);
  return Boolean(nameText) && !/[\r\n\0]/.test(input) && isBareAddress(addressText) && parseAddress(input) === undefined;
}

/**
 * The everyday shape (dot-separated letters, digits, `_+-` before the @, LDH labels after it), all
 * of which passes the full check below: one regular expression instead of several for big lists.
 */
const COMMON_ADDRESS = /^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$/;

export function isBareAddress(address: string): boolean {
  if (address.length <= 254 && address.indexOf('@') <= 64 && COMMON_ADDRESS.test(address)) return true;
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  return labels.every((label) => DOMAIN_LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** The bare address of `Name <a@b>` or `a@b`; the input itself when it does not parse. */
export function bareAddress(input: string): string {
  return parseAddress(input)?.address ?? input;
}

/**
 * Splits `a@b, "Doe, J" <j@c>` at the commas between addresses: a comma inside a quoted display
 * name (or inside <…>) belongs to that address.
 */
export function splitAddressList(text: string): string[] {
  const addresses: string[] = [];
  let start = 0;
  let quoted = false;
  let inAngle = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    else if (ch === ',' && !inAngle) {
      addresses.push(text.slice(start, i));
      start = i + 1;
    }
  }
  addresses.push(text.slice(start));
  // A quote that never closes (O"Brien) quotes nothing: split at every comma, as before quotes counted.
  const parts = quoted ? text.split(',') : addresses;
  return parts.map((address) => address.trim()).filter(Boolean);
}
