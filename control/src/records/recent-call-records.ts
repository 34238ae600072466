import type { CallRecord, CallRecording } from './call-record.js';
import { normalizeQuery, type CallRecordQuery, type CallRecordReader } from './call-record-query.js';

/**
 * The most recent call records in memory, oldest dropped first: what the API
 * and `tandem calls` show without a database (or while it is not answering).
 * Lost on restart.
 */
export class RecentCallRecords implements CallRecordReader {
  readonly capacity: number;
  readonly #ring: CallRecord[] = [];
  /** Index of the oldest record once the ring is full. */
  #start = 0;

  constructor(capacity = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.#ring.length;
  }

  add(record: CallRecord): void {
    if (this.#ring.length < this.capacity) {
      this.#ring.push(record);
      return;
    }
    this.#ring[this.#start] = record;
    this.#start = (this.#start + 1) % this.capacity;
  }

  list(query: CallRecordQuery = {}): Promise<CallRecord[]> {
    const q = normalizeQuery(query);
    const since = q.since?.getTime();
    const matching = this.#inOrder().filter(
      (r) => (since === undefined || Date.parse(r.endedAt) >= since) && (q.pairId === undefined || r.pairId === q.pairId),
    );
    // Records arrive when teardown is done, which a slow teardown can put out of end order: sort (stable, by end).
    const sign = q.order === 'desc' ? -1 : 1;
    if (sign < 0) matching.reverse(); // ties: the last added first
    matching.sort((a, b) => sign * (Date.parse(a.endedAt) - Date.parse(b.endedAt)));
    return Promise.resolve(matching.slice(0, q.limit));
  }

  /** Sets the recording of the record with that id (a new object: lists already handed out are unchanged); false when none. */
  setRecording(id: string, recording: CallRecording): boolean {
    const i = this.#ring.findIndex((r) => r.id === id);
    const record = this.#ring[i];
    if (record === undefined) return false;
    this.#ring[i] = { ...record, recording };
    return true;
  }

  get(id: string): Promise<CallRecord | null> {
    return Promise.resolve(this.#ring.find((r) => r.id === id) ?? null);
  }

  #inOrder(): CallRecord[] {
    return [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }
}
