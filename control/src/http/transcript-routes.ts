import type { FastifyInstance } from 'fastify';
import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import type { PairPool } from '../alloc/index.js';
import { pgErrorCode } from '../realtime/errors.js';
import { CallIdSchema, PAIR_ID_PATTERN, encodeTranscript, type TranscriptRecord } from '../transcripts/schema.js';
import type { StoredTranscript, TranscriptReader } from '../transcripts/store.js';
import { ApiError } from './errors.js';
import { sseStreams } from './sse.js';

/** Where live transcript events come from (the TranscriptHub is one). */
export interface TranscriptFeed {
  on(event: 'transcript', listener: (record: TranscriptRecord) => void): unknown;
  off(event: 'transcript', listener: (record: TranscriptRecord) => void): unknown;
}

export interface TranscriptRoutesOptions {
  hub: TranscriptFeed;
  /** The node's pairs: a PAIR_ID outside them is 404 UNKNOWN_PAIR, as on every pair route. */
  pool: Pick<PairPool, 'indexOf'>;
  /** Stored finals; without one (no DATABASE_URL) the list route answers 503 NO_DATABASE. */
  store?: TranscriptReader | null;
  /** Comment lines keep idle proxies and clients from closing the stream (default 15 s). */
  heartbeatMs?: number;
  /** A stream client this many bytes behind is disconnected (default 1 MiB). */
  maxBufferedBytes?: number;
}

const log = logger('control.http.transcripts');
const MAX_LIMIT = 5000;

const transcriptProperties = {
  id: { type: 'integer' },
  callId: { type: ['string', 'null'] },
  pairId: { type: 'string' },
  srcExt: { type: 'string' },
  dstExt: { type: 'string' },
  direction: { type: 'string' },
  utteranceId: { type: 'string' },
  language: { type: 'string' },
  text: { type: 'string' },
  targetLanguage: { type: 'string' },
  translatedText: { type: ['string', 'null'] },
  startMs: { type: 'integer' },
  endMs: { type: 'integer' },
  createdAt: { type: 'string' },
} as const;

const listResponse = {
  type: 'object',
  required: ['pairId', 'transcripts'],
  properties: {
    pairId: { type: 'string' },
    transcripts: { type: 'array', items: { type: 'object', required: Object.keys(transcriptProperties), properties: transcriptProperties } },
  },
} as const;

const errorRef = { $ref: 'ApiError#' } as const;

interface ListRoute {
  Params: { pairId: string };
  Querystring: { callId?: string; since?: string; limit?: string };
}
interface StreamRoute {
  Querystring: { pairId?: string; callId?: string };
}

/**
 * Transcripts on the HTTP API: the stored finals of a pair, and a Server-Sent
 * Events stream of every event (partials and finals) as the hub publishes it.
 * Needs the `ApiError` schema and error handler that `createControlApi` installs.
 */
export function registerTranscriptRoutes(app: FastifyInstance, options: TranscriptRoutesOptions): void {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const store = options.store ?? null;
  const openStream = sseStreams(app);

  app.get<ListRoute>(
    '/v1/pairs/:pairId/transcripts',
    {
      schema: {
        params: { type: 'object', required: ['pairId'], properties: { pairId: { type: 'string' } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            callId: { type: 'string' },
            since: { type: 'string' },
            limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
          },
        },
        response: { 200: listResponse, 400: errorRef, 404: errorRef, 503: errorRef },
      },
    },
    async (request) => {
      const { pairId } = request.params;
      checkPairId(pairId, options.pool);
      const { callId, since, limit } = request.query;
      if (callId !== undefined) checkCallId(callId);
      const sinceDate = since === undefined ? undefined : new Date(since);
      if (sinceDate !== undefined && (Number.isNaN(sinceDate.getTime()) || !/^\d{4}-\d\d-\d\dT/.test(since ?? ''))) {
        throw new ApiError(400, 'BAD_REQUEST', 'since must be an ISO 8601 date-time, e.g. 2026-11-23T01:00:00Z');
      }
      const max = limit === undefined ? 1000 : Number(limit);
      if (max < 1 || max > MAX_LIMIT) throw new ApiError(400, 'BAD_REQUEST', `limit must be in 1..${MAX_LIMIT}`);
      if (store === null) throw new ApiError(503, 'NO_DATABASE', 'transcripts are stored only when the node has a database (DATABASE_URL)');
      let rows: StoredTranscript[];
      try {
        rows = await store.byPair(pairId, {
          limit: max,
          ...(sinceDate !== undefined ? { since: sinceDate } : {}),
          ...(callId !== undefined ? { callId } : {}),
        });
      } catch (err) {
        throw storeError(err);
      }
      return { pairId, transcripts: rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })) };
    },
  );

  app.get<StreamRoute>(
    '/v1/transcripts/stream',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { pairId: { type: 'string' }, callId: { type: 'string' } },
        },
        response: { 400: errorRef, 404: errorRef },
      },
    },
    (request, reply) => {
      const { pairId, callId } = request.query;
      if (pairId !== undefined) checkPairId(pairId, options.pool);
      if (callId !== undefined) checkCallId(callId);
      openStream(request, reply, {
        banner: 'tandem transcript stream',
        heartbeatMs,
        maxBufferedBytes,
        onSlowClient: (buffered) => log.warn({ pairId, buffered }, 'transcript stream client too slow: disconnected'),
        subscribe: (send) => {
          const onTranscript = (record: TranscriptRecord): void => {
            if (pairId !== undefined && record.pairId !== pairId) return;
            if (callId !== undefined && record.callId !== callId) return;
            send('transcript', encodeTranscript(record));
          };
          options.hub.on('transcript', onTranscript);
          return () => options.hub.off('transcript', onTranscript);
        },
      });
    },
  );
}

function checkPairId(pairId: string, pool: Pick<PairPool, 'indexOf'>): void {
  if (!PAIR_ID_PATTERN.test(pairId)) {
    throw new ApiError(400, 'INVALID_PAIR_ID', `invalid PAIR_ID ${JSON.stringify(pairId.slice(0, 80))}: expected 1-64 of [A-Za-z0-9_.-], e.g. pair_001`);
  }
  try {
    pool.indexOf(pairId);
  } catch (err) {
    throw new ApiError(404, 'UNKNOWN_PAIR', errorMessage(err));
  }
}

function checkCallId(callId: string): void {
  if (!CallIdSchema.safeParse(callId).success) throw new ApiError(400, 'BAD_REQUEST', 'callId must be 1-200 characters without control characters');
}

function storeError(err: unknown): Error {
  if (err instanceof InvalidStateError || err instanceof ApiError) return err;
  const code = pgErrorCode(err);
  if (code === '42P01') return new ApiError(503, 'NOT_MIGRATED', 'the database has no transcripts table: run "tandem migrate"');
  log.warn({ err: err instanceof Error ? err.message : String(err), code }, 'reading transcripts failed');
  return new ApiError(503, 'TRANSCRIPTS_UNAVAILABLE', 'the transcript database is not answering');
}
