import { isIP } from 'node:net';

/**
 * The IP address in a SIP contact URI, or null when there is none (a host name,
 * or not a sip:/sips: URI). `ContactStatus` carries no IP field (docs/asterisk-facts.md), so
 * this is where presence gets `last_registered_ip` from.
 *
 * Handles `sip:7000@127.0.0.1:5086`, `sips:`, URI and header params
 * (`;transport=tcp`, `?X=y`), an optional `<...>` wrapper and IPv6 `[::1]:5060`.
 * Host names return null on purpose: the stored column is an address, and
 * resolving names here would make presence depend on DNS.
 */
export function contactUriIp(uri: string): string | null {
  let s = uri.trim();
  const lt = s.indexOf('<');
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    s = s.slice(lt + 1, gt < 0 ? undefined : gt);
  }
  const scheme = /^sips?:/i.exec(s);
  if (!scheme) return null;
  s = s.slice(scheme[0].length);
  // The user part may hold ';' (user params) but never an unescaped '@'.
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(at + 1);
  let host: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    host = s.slice(1, close);
    return isIP(host) === 6 ? host : null;
  }
  const end = s.search(/[:;?>]/);
  host = end < 0 ? s : s.slice(0, end);
  return isIP(host) === 4 ? host : null;
}
