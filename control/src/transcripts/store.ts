import type { Pool } from 'pg';
import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import type { TranscriptEvent } from '../../../engine/src/index.js';
import { DropCounter } from './drop-counter.js';
import { WriteBehindQueue } from './write-behind.js';
import { parseTranscript, type TranscriptInput, type TranscriptRecord } from './schema.js';

/** One stored final, as read back. */
export interface StoredTranscript extends Omit<TranscriptEvent, 'final' | 'at'> {
  id: number;
  callId: string | null;
  /** When the final was stored; rows of one batch share it. */
  createdAt: Date;
}

/** The calls a pair served, as far as its stored finals tell. */
export interface TranscriptCall {
  /** Null: finals published without a call id (they all share this one group). */
  callId: string | null;
  firstAt: Date;
  lastAt: Date;
  finals: number;
}

export interface ByPairOptions {
  /** Only finals stored at or after this time. */
  since?: Date;
  /** At most this many, the oldest first (default 1000, at most 10000). */
  limit?: number;
  /** Only this call; `null` = only finals without a call id; omitted = every call. */
  callId?: string | null;
}

export interface TranscriptReader {
  /** Stored finals of a pair in the order they were stored (created_at, then id). Unknown pair → []. */
  byPair(pairId: string, options?: ByPairOptions): Promise<StoredTranscript[]>;
  /** The pair's calls, the most recent (by last final) first. */
  recentCalls(pairId: string, options?: { limit?: number }): Promise<TranscriptCall[]>;
}

export interface TranscriptWriter {
  /**
   * Queues a final for storage; returns whether it was queued. Never throws and
   * never waits: partials are ignored (counted in `ignoredPartials`), invalid
   * events, a full queue and a closed store are counted drops.
   */
  save(event: TranscriptInput | TranscriptRecord): boolean;
  /** Resolves when everything queued so far is written (or dropped). */
  flush(): Promise<void>;
  /** Stops accepting, waits up to `deadlineMs` for queued writes, drops (and counts) the rest. Idempotent. */
  close(deadlineMs?: number): Promise<void>;
}

export type TranscriptStore = TranscriptReader & TranscriptWriter;

export type StoreDropReason = 'invalid' | 'queue_full' | 'db_error' | 'closed';

export interface TranscriptStoreStats {
  queued: number;
  written: number;
  ignoredPartials: number;
  dropped: Readonly<Record<StoreDropReason, number>>;
}

export interface PgTranscriptStoreOptions {
  /** Most finals waiting for the database (default 1000); beyond it new ones are dropped. */
  maxQueue?: number;
  /** Most finals per INSERT (default 100). */
  batchSize?: number;
}

const log = logger('transcripts.store');
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;
const COLUMNS =
  'id, call_id, pair_id, src_ext, dst_ext, direction, utterance_id, language, text, target_language, translated_text, start_ms, end_ms, created_at';

interface Row {
  id: string;
  call_id: string | null;
  pair_id: string;
  src_ext: string;
  dst_ext: string;
  direction: string;
  utterance_id: string;
  language: string;
  text: string;
  target_language: string;
  translated_text: string | null;
  start_ms: string;
  end_ms: string;
  created_at: Date;
}

/*
 * One statement for a whole batch: arrays in, unnest out, so the parameter
 * count and the plan stay the same whatever the batch size. WITH ORDINALITY
 * keeps ids in publish order. A replayed final (same call, pair, direction,
 * utterance) updates its row, and only when something differs.
 */
const INSERT_SQL = `
INSERT INTO transcripts AS t (call_id, pair_id, src_ext, dst_ext, direction, utterance_id, language, text,
                              target_language, translated_text, start_ms, end_ms)
SELECT call_id, pair_id, src_ext, dst_ext, direction, utterance_id, language, text, target_language, translated_text, start_ms, end_ms
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
              $9::text[], $10::text[], $11::bigint[], $12::bigint[])
       WITH ORDINALITY AS u(call_id, pair_id, src_ext, dst_ext, direction, utterance_id, language, text,
                            target_language, translated_text, start_ms, end_ms, ord)
 ORDER BY ord
ON CONFLICT ((coalesce(call_id, '')), pair_id, direction, utterance_id) DO UPDATE SET
  src_ext = EXCLUDED.src_ext, dst_ext = EXCLUDED.dst_ext, language = EXCLUDED.language, text = EXCLUDED.text,
  target_language = EXCLUDED.target_language, translated_text = EXCLUDED.translated_text,
  start_ms = EXCLUDED.start_ms, end_ms = EXCLUDED.end_ms
WHERE (t.src_ext, t.dst_ext, t.language, t.text, t.target_language, t.translated_text, t.start_ms, t.end_ms)
      IS DISTINCT FROM
      (EXCLUDED.src_ext, EXCLUDED.dst_ext, EXCLUDED.language, EXCLUDED.text, EXCLUDED.target_language,
       EXCLUDED.translated_text, EXCLUDED.start_ms, EXCLUDED.end_ms)`;

/**
 * Finals in PostgreSQL's `transcripts` table (migration 004). Writes never block
 * the publisher: `save()` appends to a bounded queue and one writer drains it in
 * batches, so at most one INSERT is in flight and finals keep their order. When
 * the database is down a batch fails after the pool's timeouts and is dropped,
 * counted and logged; the queue never grows beyond `maxQueue`.
 */
export class PgTranscriptStore implements TranscriptStore {
  readonly #pool: Pool;
  readonly #drops = new DropCounter<StoreDropReason>(log, 'transcript finals', ['invalid', 'queue_full', 'db_error', 'closed']);
  readonly #writes: WriteBehindQueue<TranscriptRecord>;
  #ignoredPartials = 0;

  /** The pool belongs to the caller (close() does not end it). */
  constructor(pool: Pool, options: PgTranscriptStoreOptions = {}) {
    this.#pool = pool;
    this.#writes = new WriteBehindQueue<TranscriptRecord>({
      what: 'finals',
      maxQueue: positiveInt('maxQueue', options.maxQueue ?? 1000),
      batchSize: positiveInt('batchSize', options.batchSize ?? 100),
      drops: this.#drops,
      write: (batch) => this.#insert(batch),
      describeError: errorMessage,
    });
  }

  get closed(): boolean {
    return this.#writes.closed;
  }

  stats(): TranscriptStoreStats {
    return { queued: this.#writes.queued, written: this.#writes.written, ignoredPartials: this.#ignoredPartials, dropped: this.#drops.counts() };
  }

  save(event: TranscriptInput | TranscriptRecord): boolean {
    if (this.#writes.closed) {
      this.#drops.add('closed', 1);
      return false;
    }
    const parsed = parseTranscript(event);
    if (!parsed.ok) {
      this.#drops.add('invalid', 1, parsed.reason);
      return false;
    }
    if (!parsed.record.final) {
      this.#ignoredPartials++;
      return false;
    }
    return this.#writes.enqueue(parsed.record);
  }

  flush(): Promise<void> {
    return this.#writes.flush();
  }

  close(deadlineMs = 5000): Promise<void> {
    return this.#writes.close(deadlineMs);
  }

  async byPair(pairId: string, options: ByPairOptions = {}): Promise<StoredTranscript[]> {
    this.#assertOpen();
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new RangeError(`limit must be an integer in 1..${MAX_LIMIT}`);
    const params: unknown[] = [pairId];
    let where = 'pair_id = $1';
    if (options.since !== undefined) {
      if (Number.isNaN(options.since.getTime())) throw new TypeError('since must be a valid Date');
      params.push(options.since);
      where += ` AND created_at >= $${params.length}`;
    }
    if (options.callId !== undefined) {
      // Same expression as the unique index, so it can serve the lookup; '' is never a call id.
      params.push(options.callId ?? '');
      where += ` AND coalesce(call_id, '') = $${params.length}`;
    }
    params.push(limit);
    const r = await this.#pool.query<Row>(
      `SELECT ${COLUMNS} FROM transcripts WHERE ${where} ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(toStored);
  }

  async recentCalls(pairId: string, options: { limit?: number } = {}): Promise<TranscriptCall[]> {
    this.#assertOpen();
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new RangeError(`limit must be an integer in 1..${MAX_LIMIT}`);
    const r = await this.#pool.query<{ call_id: string | null; first_at: Date; last_at: Date; finals: number }>(
      `SELECT call_id, min(created_at) AS first_at, max(created_at) AS last_at, count(*)::int AS finals
         FROM transcripts WHERE pair_id = $1
        GROUP BY call_id ORDER BY max(created_at) DESC, max(id) DESC LIMIT $2`,
      [pairId, limit],
    );
    return r.rows.map((x) => ({ callId: x.call_id, firstAt: x.first_at, lastAt: x.last_at, finals: x.finals }));
  }

  #assertOpen(): void {
    if (this.#writes.closed) throw new InvalidStateError('PgTranscriptStore is closed');
  }

  async #insert(batch: readonly TranscriptRecord[]): Promise<void> {
    // Two rows with one key in a single INSERT … ON CONFLICT is an error: keep the last.
    const byKey = new Map<string, TranscriptRecord>();
    for (const e of batch) byKey.set(`${e.callId ?? ''}\u0000${e.pairId}\u0000${e.direction}\u0000${e.utteranceId}`, e);
    const rows = [...byKey.values()];
    await this.#pool.query(INSERT_SQL, [
      rows.map((e) => e.callId),
      rows.map((e) => e.pairId),
      rows.map((e) => e.srcExt),
      rows.map((e) => e.dstExt),
      rows.map((e) => e.direction),
      rows.map((e) => e.utteranceId),
      rows.map((e) => e.language),
      rows.map((e) => e.text),
      rows.map((e) => e.targetLanguage),
      rows.map((e) => e.translatedText),
      rows.map((e) => e.startMs),
      rows.map((e) => e.endMs),
    ]);
  }
}

function toStored(r: Row): StoredTranscript {
  return {
    id: Number(r.id),
    callId: r.call_id,
    pairId: r.pair_id,
    srcExt: r.src_ext,
    dstExt: r.dst_ext,
    direction: r.direction === 'B->A' ? 'B->A' : 'A->B',
    utteranceId: r.utterance_id,
    language: r.language,
    text: r.text,
    targetLanguage: r.target_language,
    translatedText: r.translated_text,
    startMs: Number(r.start_ms),
    endMs: Number(r.end_ms),
    createdAt: r.created_at,
  };
}

function positiveInt(key: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${value}`);
  return value;
}
