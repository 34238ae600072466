import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'tandem_console';

/**
 * Console login sessions, in memory: a login that proved the API token gets a
 * random 256-bit id (the cookie's value), valid for `ttlMs`. The token itself
 * never goes into the cookie, a URL or a log; a restart logs everyone out.
 * Bounded: past `max` sessions the oldest is dropped.
 */
export class ConsoleSessions {
  readonly ttlMs: number;
  readonly #max: number;
  readonly #sessions = new Map<string, number>();

  constructor(options: { ttlMs?: number; max?: number } = {}) {
    this.ttlMs = options.ttlMs ?? 12 * 3600_000;
    this.#max = options.max ?? 1000;
  }

  create(now = Date.now()): string {
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(id, now + this.ttlMs);
    while (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    return id;
  }

  valid(id: string | undefined, now = Date.now()): boolean {
    if (id === undefined) return false;
    const expires = this.#sessions.get(id);
    if (expires === undefined) return false;
    if (expires <= now) {
      this.#sessions.delete(id);
      return false;
    }
    return true;
  }

  revoke(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id);
  }
}

/** The value of one cookie in a Cookie header (no decoding: session ids are base64url). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
