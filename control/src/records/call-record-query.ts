import type { CallRecord } from './call-record.js';

/** Which records to read. */
export interface CallRecordQuery {
  /** Only calls that ended at or after this time. */
  since?: Date;
  /** Only calls on this pair. */
  pairId?: string;
  /** At most this many (default 100, at most MAX_CALL_RECORDS_LIMIT). */
  limit?: number;
  /** 'desc' (default): the most recent end first; 'asc': the oldest first, for paging forward with `since`. */
  order?: 'asc' | 'desc';
}

export const DEFAULT_CALL_RECORDS_LIMIT = 100;
export const MAX_CALL_RECORDS_LIMIT = 1000;

/** Reads finished calls' records. */
export interface CallRecordReader {
  list(query?: CallRecordQuery): Promise<CallRecord[]>;
  /** Null when there is no record with that id. */
  get(id: string): Promise<CallRecord | null>;
}

/** The query with its defaults, checked: a RangeError/TypeError names what is wrong. */
export function normalizeQuery(query: CallRecordQuery = {}): Required<Omit<CallRecordQuery, 'since' | 'pairId'>> & Pick<CallRecordQuery, 'since' | 'pairId'> {
  const limit = query.limit ?? DEFAULT_CALL_RECORDS_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CALL_RECORDS_LIMIT) throw new RangeError(`limit must be an integer in 1..${MAX_CALL_RECORDS_LIMIT}`);
  if (query.since !== undefined && Number.isNaN(query.since.getTime())) throw new TypeError('since must be a valid Date');
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new RangeError(`order must be 'asc' or 'desc'`);
  return { limit, order, ...(query.since !== undefined ? { since: query.since } : {}), ...(query.pairId !== undefined ? { pairId: query.pairId } : {}) };
}
