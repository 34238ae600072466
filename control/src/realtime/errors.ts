/**
 * Every way an extension write can be refused. Callers (CLI, HTTP API, tests)
 * branch on `code`, never on message text.
 */
export type RealtimeErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_NUMBER'
  | 'DUPLICATE_NUMBER'
  | 'WEAK_PASSWORD'
  | 'UNKNOWN_CODEC'
  | 'FIELD_TOO_LONG'
  | 'INVALID_FIELD'
  | 'NOT_FOUND'
  | 'PAIR_NUMBER_CONFLICT'
  | 'MIGRATION_MISMATCH'
  | 'NOT_MIGRATED';

export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
    /** The input field at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** PostgreSQL SQLSTATE of a driver error, if it is one. */
export function pgErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
