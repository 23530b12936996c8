// SEC-020..SEC-023: callback URLs never lead the server into private networks unless the operator
// allows it. Checked twice: at registration (the URL's host resolved now) and at every push, on
// the address actually connected to (a guarded DNS lookup), so DNS rebinding cannot slip through.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Problem } from '../errors.js';

/** The error code our guarded lookup fails a connection with. */
export const CALLBACK_REFUSED_CODE = 'ECALLBACKREFUSED';

// ipaddr.js range names that no callback may reach (SEC-020). Everything else (unicast, and the
// documentation/benchmark ranges, harmless to connect to) is allowed.
const REFUSED_RANGES = new Set([
  'unspecified', 'loopback', 'private', 'linkLocal', 'carrierGradeNat', 'uniqueLocal', 'broadcast', 'multicast', 'reserved',
]);

/** True when an address literal lies in a range no callback may reach. */
export function isRefusedAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let parsed = ipaddr.parse(address);
  // ::ffff:10.0.0.1 and friends are the IPv4 address in disguise.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return REFUSED_RANGES.has(parsed.range());
}

function hostOf(url: URL): string {
  // URL keeps IPv6 literals bracketed: [::1].
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  const options: LookupAllOptions = { all: true, verbatim: true };
  return new Promise((resolve, reject) => {
    dnsLookup(host, options, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

/** SEC-023: scheme and user information, checked whatever allowPrivate says. */
export function assertCallbackShape(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Problem('validation_failed', 'delivery.url is not a URL', [{ pointer: '/delivery/url', message: 'must be an absolute http(s) URL', location: 'body' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Problem('validation_failed', 'delivery.url must use http or https', [{ pointer: '/delivery/url', message: 'scheme must be http or https', location: 'body' }]);
  }
  if (url.username !== '' || url.password !== '') {
    throw new Problem('validation_failed', 'delivery.url must not carry user information', [{ pointer: '/delivery/url', message: 'must not contain user:pass@', location: 'body' }]);
  }
  return url;
}

/**
 * SEC-020: registration-time check. Resolves the host (every address) and refuses with 422
 * callback_url_refused when any of them is in a refused range. A host that does not resolve at
 * all is refused too: the server cannot tell where it would lead.
 */
export async function assertCallbackAllowed(raw: string, allowPrivate: boolean): Promise<void> {
  const url = assertCallbackShape(raw);
  if (allowPrivate) return;
  const host = hostOf(url);
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await resolveAll(host)).map((a) => a.address);
    } catch {
      throw new Problem('callback_url_refused', `callback host ${host} does not resolve`);
    }
  }
  const refused = addresses.find(isRefusedAddress);
  if (refused !== undefined || addresses.length === 0) {
    throw new Problem('callback_url_refused', `callback host ${host} resolves to a private, loopback or link-local address`);
  }
}

/** Send-time check for hosts written as address literals (net.connect does no lookup for those). */
export function literalHostRefused(url: URL): boolean {
  const host = hostOf(url);
  return isIP(host) !== 0 && isRefusedAddress(host);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type LookupOptions = { all?: boolean; family?: number | string; hints?: number };

/**
 * SEC-021: a drop-in for dns.lookup given to the push connector: the address checked is the
 * address the socket connects to. Any refused address fails the whole lookup.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
  dnsLookup(hostname, { all: true, family: family === 4 || family === 6 ? family : 0, hints: options.hints }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((a) => isRefusedAddress(a.address));
    if (refused || addresses.length === 0) {
      const denied = Object.assign(new Error(`callback host ${hostname} resolves to a refused address`), { code: CALLBACK_REFUSED_CODE });
      return callback(denied, []);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}
