/**
 * Providers a worker shares between directions (one Apertium pipeline per
 * language pair, one bounded espeak-ng runner): created at the first
 * direction that asks for a configuration, closed when the last one using it
 * closes. Keyed by the configuration, so two pairs configured alike share.
 */
interface Entry {
  value: unknown;
  users: number;
  close: () => void;
}

const entries = new Map<string, Entry>();

export interface Lease<T> {
  value: T;
  /** Idempotent; the last release closes the shared value. */
  release(): void;
}

export function acquireShared<T>(key: string, create: () => T, close: (value: T) => void): Lease<T> {
  let entry = entries.get(key);
  if (entry === undefined) {
    const value = create();
    entry = { value, users: 0, close: () => close(value) };
    entries.set(key, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    value: held.value as T,
    release: () => {
      if (released) return;
      released = true;
      if (--held.users === 0 && entries.get(key) === held) {
        entries.delete(key);
        held.close();
      }
    },
  };
}

/** How many shared providers are alive (tests check nothing leaks). */
export function sharedCount(): number {
  return entries.size;
}

/** How many users hold the shared value under `key` (0 when there is none): lets a caller spread users over several values. */
export function sharedUsers(key: string): number {
  return entries.get(key)?.users ?? 0;
}
