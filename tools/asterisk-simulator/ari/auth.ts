/**
 * ARI authentication as Asterisk does it: per request (a keep-alive connection
 * remembers nothing), either `?api_key=user:pass` or HTTP Basic. Failures are
 * answered 401 with the recorded body and WWW-Authenticate header (s6 curl_raw.txt).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface AriCredentials {
  readonly username: string;
  readonly password: string;
}

export const AUTH_REALM_HEADER = 'Basic realm="Asterisk REST Interface"';

function sameSecret(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

function matches(pair: string, creds: AriCredentials): boolean {
  const colon = pair.indexOf(':');
  if (colon < 0) return false;
  return sameSecret(pair.slice(0, colon), creds.username) && sameSecret(pair.slice(colon + 1), creds.password);
}

/** True when the request carries valid credentials; an api_key, when present, is what counts. */
export function isAuthorized(headers: IncomingHttpHeaders, query: URLSearchParams, creds: AriCredentials): boolean {
  const apiKey = query.get('api_key');
  if (apiKey !== null) return matches(apiKey, creds);
  const header = headers.authorization;
  if (typeof header !== 'string') return false;
  const m = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) return false;
  return matches(Buffer.from(m[1], 'base64').toString('utf8'), creds);
}
