import { logger, type Logger } from '../../../common/src/logger.js';
import type { CallRecord, CallRecording } from './call-record.js';
import type { CallRecordQuery } from './call-record-query.js';
import { describePgError, type PgCallRecordStore, type PgCallRecordStoreStats } from './pg-call-record-store.js';
import { RecentCallRecords } from './recent-call-records.js';

/** Where a read was answered from: PostgreSQL, or this node's memory (no database, or it did not answer). */
export type CallRecordSource = 'database' | 'memory';

export interface CallRecordsOptions {
  /** Stores every record in PostgreSQL. Owned: close() closes it (the pool stays the caller's). */
  store?: PgCallRecordStore | null;
  /** Records kept in memory for the API and `tandem calls` (default 1000). */
  recent?: number;
  /** Where the `call record` lines go (default: the `records` logger). */
  log?: Logger;
}

export interface CallRecordsStats {
  /** Records made since start. */
  recorded: number;
  /** Records in memory now. */
  recent: number;
  /** Reads the database failed, answered from memory instead. */
  readFallbacks: number;
  store: PgCallRecordStoreStats | null;
}

const READ_WARNING_INTERVAL_MS = 10_000;

/**
 * Where every finished call's record goes: one `call record` log line, the
 * in-memory ring of recent records, and PostgreSQL when there is a database.
 * `add()` is called at the end of a teardown: it never throws and never waits.
 * Reads prefer the database and fall back to memory when it does not answer,
 * saying so (`source`), so an operator still sees recent calls during an outage.
 */
export class CallRecords {
  readonly #store: PgCallRecordStore | null;
  readonly #recent: RecentCallRecords;
  readonly #log: Logger;
  #recorded = 0;
  #readFallbacks = 0;
  #lastReadWarningAt = Number.NEGATIVE_INFINITY;
  #closing: Promise<void> | null = null;

  constructor(options: CallRecordsOptions = {}) {
    this.#store = options.store ?? null;
    this.#recent = new RecentCallRecords(options.recent ?? 1000);
    this.#log = options.log ?? logger('records');
  }

  get persistent(): boolean {
    return this.#store !== null;
  }

  stats(): CallRecordsStats {
    return { recorded: this.#recorded, recent: this.#recent.size, readFallbacks: this.#readFallbacks, store: this.#store?.stats() ?? null };
  }

  add(record: CallRecord): void {
    this.#recorded++;
    // One line with every field: the record is the log's too when there is no database.
    this.#log.info(record, 'call record');
    this.#recent.add(record);
    if (!this.#closing) this.#store?.save(record);
  }

  /**
   * A recording completed for a record added earlier: kept on the in-memory record and queued for
   * PostgreSQL (behind the record's own INSERT). Never throws, never waits; false when no record in
   * memory has that id (it is still written: the database may hold the record).
   */
  attachRecording(id: string, recording: CallRecording): boolean {
    const known = this.#recent.setRecording(id, recording);
    this.#log.info({ id, recording }, 'call recording');
    if (!this.#closing) this.#store?.saveRecording(id, recording);
    return known;
  }

  async list(query: CallRecordQuery = {}): Promise<{ calls: CallRecord[]; source: CallRecordSource }> {
    if (this.#store !== null && !this.#store.closed) {
      try {
        return { calls: await this.#store.list(query), source: 'database' };
      } catch (err) {
        if (err instanceof RangeError || err instanceof TypeError) throw err;
        this.#readFailed(err);
      }
    }
    return { calls: await this.#recent.list(query), source: 'memory' };
  }

  async get(id: string): Promise<{ call: CallRecord | null; source: CallRecordSource }> {
    if (this.#store !== null && !this.#store.closed) {
      try {
        const call = await this.#store.get(id);
        // Written moments ago and still queued: memory has it.
        return call !== null ? { call, source: 'database' } : { call: await this.#recent.get(id), source: 'memory' };
      } catch (err) {
        this.#readFailed(err);
      }
    }
    return { call: await this.#recent.get(id), source: 'memory' };
  }

  /** Resolves when every record added so far is written to the database or counted as dropped. */
  async flush(): Promise<void> {
    await this.#store?.flush();
  }

  /** Waits up to `deadlineMs` for queued database writes, then closes the store. Idempotent. */
  close(deadlineMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      await this.#store?.close(deadlineMs);
      this.#log.debug(this.stats(), 'call records closed');
    })();
    return this.#closing;
  }

  #readFailed(err: unknown): void {
    this.#readFallbacks++;
    const now = Date.now();
    if (now - this.#lastReadWarningAt < READ_WARNING_INTERVAL_MS) return;
    this.#lastReadWarningAt = now;
    const hint = describePgError(err);
    this.#log.warn({ err: hint, fallbacks: this.#readFallbacks }, 'reading call records from PostgreSQL failed: answering from memory');
  }
}
