/**
 * Synthesized answers by (voice, rate, text), least recently used first. It
 * holds the promise, so sessions asking for the same text while it is being
 * synthesized share one espeak-ng run; a failed synthesis is not kept.
 */
export class AnswerCache {
  readonly capacity: number;
  readonly #entries = new Map<string, Promise<Buffer>>();
  hits = 0;
  misses = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
    const known = this.#entries.get(key);
    if (known !== undefined) {
      this.hits++;
      // Map order is insertion order: re-inserting marks it most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, known);
      return known;
    }
    this.misses++;
    const made = make();
    if (this.capacity === 0) return made;
    this.#entries.set(key, made);
    made.catch(() => {
      if (this.#entries.get(key) === made) this.#entries.delete(key);
    });
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    return made;
  }

  clear(): void {
    this.#entries.clear();
  }
}
