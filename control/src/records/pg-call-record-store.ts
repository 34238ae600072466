import type { Pool } from 'pg';
import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import type { CodecName } from '../../../engine/src/index.js';
import type { HangupBy, TeardownReason } from '../calls/index.js';
import { pgErrorCode } from '../realtime/errors.js';
import { DropCounter } from '../transcripts/drop-counter.js';
import { WriteBehindQueue } from '../transcripts/write-behind.js';
import type { CallLegRecord, CallRecord, CallRecording } from './call-record.js';
import { normalizeQuery, type CallRecordQuery, type CallRecordReader } from './call-record-query.js';

export type CallRecordDropReason = 'queue_full' | 'db_error' | 'closed';

export interface PgCallRecordStoreStats {
  queued: number;
  written: number;
  dropped: Readonly<Record<CallRecordDropReason, number>>;
}

export interface PgCallRecordStoreOptions {
  /** Most records waiting for the database (default 1000); beyond it new ones are dropped, counted. */
  maxQueue?: number;
  /** Most records per INSERT (default 100). */
  batchSize?: number;
}

const log = logger('records.store');

const COLUMNS = `id, pair_id, call_id, ext_a, ext_b, caller, node, started_at, answered_at, ended_at, duration_ms, talk_ms,
  setup_ms, teardown_ms, hangup_by, hangup_cause, teardown_reason, codec, translated, mos_a, mos_b, legs,
  recording_path, recording_format, recording_bytes, recording_duration_ms`;

/*
 * One statement per batch whatever its size: the batch travels as one JSON
 * parameter and jsonb_to_recordset turns it into rows. A batch retried after
 * an unclear failure cannot duplicate a call (ON CONFLICT on the id).
 */
const INSERT_SQL = `
INSERT INTO call_records (${COLUMNS})
SELECT ${COLUMNS}
  FROM jsonb_to_recordset($1::jsonb) AS r(
    id uuid, pair_id text, call_id text, ext_a text, ext_b text, caller text, node text,
    started_at timestamptz, answered_at timestamptz, ended_at timestamptz, duration_ms bigint, talk_ms bigint,
    setup_ms bigint, teardown_ms bigint, hangup_by text, hangup_cause smallint, teardown_reason text, codec text,
    translated boolean, mos_a double precision, mos_b double precision, legs jsonb,
    recording_path text, recording_format text, recording_bytes bigint, recording_duration_ms bigint)
ON CONFLICT (id) DO NOTHING`;

/*
 * A recording completed after its record was queued: the same one-parameter shape. The
 * record's INSERT always went into the queue first (records.add() before the recording
 * could be joined to it), so the row exists unless its INSERT was dropped, and then the
 * UPDATE finds nothing: the recording stays on the in-memory record only.
 */
const RECORDING_SQL = `
UPDATE call_records AS c
   SET recording_path = r.path, recording_format = r.format, recording_bytes = r.bytes, recording_duration_ms = r.duration_ms
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, path text, format text, bytes bigint, duration_ms bigint)
 WHERE c.id = r.id`;

/** What waits for the database: a whole record, or a recording for a record queued earlier. */
type Write = { kind: 'record'; record: CallRecord } | { kind: 'recording'; id: string; recording: CallRecording };

interface Row {
  id: string;
  pair_id: string;
  call_id: string;
  ext_a: string;
  ext_b: string;
  caller: string | null;
  node: string;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date;
  duration_ms: string;
  talk_ms: string | null;
  setup_ms: string | null;
  teardown_ms: string;
  hangup_by: string;
  hangup_cause: number | null;
  teardown_reason: string;
  codec: string;
  translated: boolean;
  mos_a: number | null;
  mos_b: number | null;
  legs: { A: CallLegRecord; B: CallLegRecord } | null;
  recording_path: string | null;
  recording_format: string | null;
  recording_bytes: string | null;
  recording_duration_ms: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Call records in PostgreSQL's `call_records` table (migration 005). `save()`
 * never throws and never waits: records go into a bounded queue that one
 * writer drains in batches, so a slow or lost database can never hold up a
 * call's teardown. When the database fails, a batch is dropped and counted
 * (logged at most once per reason per 10 s); the queue never grows beyond
 * `maxQueue`.
 */
export class PgCallRecordStore implements CallRecordReader {
  readonly #pool: Pool;
  readonly #drops = new DropCounter<CallRecordDropReason>(log, 'call records', ['queue_full', 'db_error', 'closed']);
  readonly #writes: WriteBehindQueue<Write>;

  /** The pool belongs to the caller (close() does not end it). */
  constructor(pool: Pool, options: PgCallRecordStoreOptions = {}) {
    this.#pool = pool;
    this.#writes = new WriteBehindQueue<Write>({
      what: 'call records',
      maxQueue: positiveInt('maxQueue', options.maxQueue ?? 1000),
      batchSize: positiveInt('batchSize', options.batchSize ?? 100),
      drops: this.#drops,
      // Records first: a recording in the batch may belong to a record in the same batch.
      write: async (batch) => {
        const records = batch.flatMap((w) => (w.kind === 'record' ? [toRow(w.record)] : []));
        const recordings = batch.flatMap((w) => (w.kind === 'recording' ? [recordingRow(w.id, w.recording)] : []));
        if (records.length > 0) await this.#pool.query(INSERT_SQL, [JSON.stringify(records)]);
        if (recordings.length > 0) await this.#pool.query(RECORDING_SQL, [JSON.stringify(recordings)]);
      },
      describeError: describePgError,
    });
  }

  get closed(): boolean {
    return this.#writes.closed;
  }

  stats(): PgCallRecordStoreStats {
    return { queued: this.#writes.queued, written: this.#writes.written, dropped: this.#drops.counts() };
  }

  /** Queues a record for storage; false (and counted) when closed or the queue is full. */
  save(record: CallRecord): boolean {
    return this.#writes.enqueue({ kind: 'record', record });
  }

  /** Queues a recording for a record saved earlier; false (and counted) when closed or the queue is full. */
  saveRecording(id: string, recording: CallRecording): boolean {
    return this.#writes.enqueue({ kind: 'recording', id, recording });
  }

  /** Resolves when everything queued so far is written or dropped. */
  flush(): Promise<void> {
    return this.#writes.flush();
  }

  /** Stops accepting, waits up to `deadlineMs` for queued writes, drops (and counts) the rest. Idempotent. */
  close(deadlineMs = 5000): Promise<void> {
    return this.#writes.close(deadlineMs);
  }

  async list(query: CallRecordQuery = {}): Promise<CallRecord[]> {
    this.#assertOpen();
    const q = normalizeQuery(query);
    const params: unknown[] = [];
    const where: string[] = [];
    if (q.since !== undefined) {
      params.push(q.since);
      where.push(`ended_at >= $${params.length}`);
    }
    if (q.pairId !== undefined) {
      params.push(q.pairId);
      where.push(`pair_id = $${params.length}`);
    }
    params.push(q.limit);
    const direction = q.order === 'asc' ? 'ASC' : 'DESC';
    const r = await this.#pool.query<Row>(
      `SELECT ${COLUMNS} FROM call_records ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ended_at ${direction}, created_at ${direction} LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(toRecord);
  }

  async get(id: string): Promise<CallRecord | null> {
    this.#assertOpen();
    // Not a uuid: no such record (and no cast error from PostgreSQL).
    if (!UUID.test(id)) return null;
    const r = await this.#pool.query<Row>(`SELECT ${COLUMNS} FROM call_records WHERE id = $1`, [id]);
    const row = r.rows[0];
    return row === undefined ? null : toRecord(row);
  }

  #assertOpen(): void {
    if (this.#writes.closed) throw new InvalidStateError('PgCallRecordStore is closed');
  }
}

function toRow(r: CallRecord): Record<string, unknown> {
  return {
    id: r.id,
    pair_id: r.pairId,
    call_id: r.callId,
    ext_a: r.extA,
    ext_b: r.extB,
    caller: r.caller,
    node: r.node,
    started_at: r.startedAt,
    answered_at: r.answeredAt,
    ended_at: r.endedAt,
    duration_ms: r.durationMs,
    talk_ms: r.talkMs,
    setup_ms: r.setupMs,
    teardown_ms: r.teardownMs,
    hangup_by: r.hangupBy,
    hangup_cause: r.hangupCause,
    teardown_reason: r.teardownReason,
    codec: r.codec,
    translated: r.translated,
    mos_a: r.mosA,
    mos_b: r.mosB,
    legs: r.legs,
    recording_path: r.recording?.path ?? null,
    recording_format: r.recording?.format ?? null,
    recording_bytes: r.recording?.bytes ?? null,
    recording_duration_ms: r.recording?.durationMs ?? null,
  };
}

function recordingRow(id: string, r: CallRecording): Record<string, unknown> {
  return { id, path: r.path, format: r.format, bytes: r.bytes, duration_ms: r.durationMs };
}

/** The hint for a failed statement: a database not migrated far enough says what to run. */
export function describePgError(err: unknown): string {
  const code = pgErrorCode(err);
  if (code === '42P01') return 'the database has no call_records table: run "tandem migrate"';
  if (code === '42703') return `the call_records table lacks a column (${errorMessage(err)}): run "tandem migrate"`;
  return errorMessage(err);
}

function toRecord(r: Row): CallRecord {
  return {
    id: r.id,
    pairId: r.pair_id,
    callId: r.call_id,
    extA: r.ext_a,
    extB: r.ext_b,
    caller: r.caller,
    node: r.node,
    startedAt: r.started_at.toISOString(),
    answeredAt: r.answered_at === null ? null : r.answered_at.toISOString(),
    endedAt: r.ended_at.toISOString(),
    durationMs: Number(r.duration_ms),
    talkMs: r.talk_ms === null ? null : Number(r.talk_ms),
    setupMs: r.setup_ms === null ? null : Number(r.setup_ms),
    teardownMs: Number(r.teardown_ms),
    hangupBy: r.hangup_by as HangupBy,
    hangupCause: r.hangup_cause,
    teardownReason: r.teardown_reason as TeardownReason,
    codec: r.codec as CodecName,
    translated: r.translated,
    mosA: r.mos_a,
    mosB: r.mos_b,
    legs: r.legs,
    recording:
      r.recording_path === null || r.recording_format === null || r.recording_bytes === null || r.recording_duration_ms === null
        ? null
        : { path: r.recording_path, format: r.recording_format === 'opus' ? 'opus' : 'wav', bytes: Number(r.recording_bytes), durationMs: Number(r.recording_duration_ms) },
  };
}

function positiveInt(key: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${value}`);
  return value;
}
