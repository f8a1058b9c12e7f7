/** True for hosts that never leave this machine, where plain http:// is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Checks a configured base URL: https anywhere, http only on loopback. Returns an error text or undefined. */
export function checkBaseUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL`;
  }
  // fetch refuses such URLs, and its error would print the password.
  if (url.username || url.password) return 'a user name or password in the URL is not supported (it would be printed in errors)';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? undefined : `plain http:// is allowed only for loopback hosts; use https://${url.host}`;
  }
  return `unsupported scheme "${url.protocol}" (use https://)`;
}
