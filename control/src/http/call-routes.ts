import type { FastifyInstance } from 'fastify';
import type { CallRecord } from '../records/call-record.js';
import type { CallRecordQuery } from '../records/call-record-query.js';
import { MAX_CALL_RECORDS_LIMIT } from '../records/call-record-query.js';
import type { CallRecordSource } from '../records/call-records.js';
import { PAIR_ID_PATTERN } from '../transcripts/schema.js';
import { ApiError } from './errors.js';

/** What the routes read from (CallRecords is one). */
export interface CallRecordFeed {
  list(query: CallRecordQuery): Promise<{ calls: CallRecord[]; source: CallRecordSource }>;
  get(id: string): Promise<{ call: CallRecord | null; source: CallRecordSource }>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/;

const nullableString = { type: ['string', 'null'] } as const;
const nullableInteger = { type: ['integer', 'null'] } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

const recordProperties = {
  id: { type: 'string' },
  pairId: { type: 'string' },
  callId: { type: 'string' },
  extA: { type: 'string' },
  extB: { type: 'string' },
  caller: nullableString,
  node: { type: 'string' },
  startedAt: { type: 'string' },
  answeredAt: nullableString,
  endedAt: { type: 'string' },
  durationMs: { type: 'integer' },
  talkMs: nullableInteger,
  setupMs: nullableInteger,
  teardownMs: { type: 'integer' },
  hangupBy: { type: 'string', enum: ['caller', 'legb', 'tandem'] },
  hangupCause: nullableInteger,
  teardownReason: { type: 'string' },
  codec: { type: 'string' },
  translated: { type: 'boolean' },
  mosA: nullableNumber,
  mosB: nullableNumber,
  // Every leg counter, including drop reasons and translation counters that may grow: passed through as they are.
  legs: { type: ['object', 'null'], additionalProperties: true },
  // The finished file on the node that recorded it (GET /v1/calls/:id/recording serves it); null: none (yet).
  recording: {
    type: ['object', 'null'],
    required: ['path', 'format', 'bytes', 'durationMs'],
    properties: { path: { type: 'string' }, format: { type: 'string', enum: ['wav', 'opus'] }, bytes: { type: 'integer' }, durationMs: { type: 'integer' } },
  },
} as const;

/** A call record as the API shows it (docs/call-records.md). */
export const callRecordSchema = {
  $id: 'CallRecord',
  type: 'object',
  required: Object.keys(recordProperties),
  properties: recordProperties,
} as const;

const errorRef = { $ref: 'ApiError#' } as const;

interface ListRoute {
  Querystring: { since?: string; limit?: string; order?: 'asc' | 'desc'; pairId?: string };
}
interface GetRoute {
  Params: { id: string };
}

/**
 * Finished calls on the HTTP API: `GET /v1/calls` (recent records, newest
 * first, optionally since a time and for one pair) and `GET /v1/calls/:id`.
 * Needs the `ApiError` schema and error handler that `createControlApi` installs.
 */
export function registerCallRoutes(app: FastifyInstance, options: { records: CallRecordFeed }): void {
  const { records } = options;
  app.addSchema(callRecordSchema);

  app.get<ListRoute>(
    '/v1/calls',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string' },
            limit: { type: 'string', pattern: '^[0-9]{1,7}$' },
            order: { type: 'string', enum: ['asc', 'desc'] },
            pairId: { type: 'string' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['calls', 'source'],
            properties: { calls: { type: 'array', items: { $ref: 'CallRecord#' } }, source: { type: 'string', enum: ['database', 'memory'] } },
          },
          400: errorRef,
        },
      },
    },
    async (request) => {
      const { since, limit, order, pairId } = request.query;
      let sinceDate: Date | undefined;
      if (since !== undefined) {
        sinceDate = new Date(since);
        if (!ISO_DATE_TIME.test(since) || Number.isNaN(sinceDate.getTime())) {
          throw new ApiError(400, 'BAD_REQUEST', 'since must be an ISO 8601 date-time with a time zone, e.g. 2026-11-23T01:00:00Z');
        }
      }
      const max = limit === undefined ? 100 : Number(limit);
      if (max < 1 || max > MAX_CALL_RECORDS_LIMIT) throw new ApiError(400, 'BAD_REQUEST', `limit must be in 1..${MAX_CALL_RECORDS_LIMIT}`);
      if (pairId !== undefined && !PAIR_ID_PATTERN.test(pairId)) {
        throw new ApiError(400, 'INVALID_PAIR_ID', `invalid PAIR_ID ${JSON.stringify(pairId.slice(0, 80))}: expected e.g. pair_001`);
      }
      return await records.list({
        limit: max,
        ...(sinceDate !== undefined ? { since: sinceDate } : {}),
        ...(order !== undefined ? { order } : {}),
        ...(pairId !== undefined ? { pairId } : {}),
      });
    },
  );

  app.get<GetRoute>(
    '/v1/calls/:id',
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
        response: { 200: { $ref: 'CallRecord#' }, 400: errorRef, 404: errorRef },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!UUID.test(id)) throw new ApiError(400, 'INVALID_CALL_ID', `invalid call record id ${JSON.stringify(id.slice(0, 80))}: expected a UUID`);
      const { call } = await records.get(id.toLowerCase());
      if (call === null) throw new ApiError(404, 'CALL_NOT_FOUND', `no call record ${id}`);
      return call;
    },
  );
}
