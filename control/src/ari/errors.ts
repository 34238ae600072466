/**
 * An ARI request that failed. `status` is the HTTP status when known; `code`
 * is what callers branch on (teardown treats NOT_FOUND as "already gone").
 */
export type AriErrorCode = 'NOT_FOUND' | 'CONFLICT' | 'BAD_REQUEST' | 'UNAUTHORIZED' | 'SERVER_ERROR' | 'TIMEOUT' | 'UNAVAILABLE' | 'BAD_RESPONSE';

export class AriError extends Error {
  override readonly name = 'AriError';
  constructor(
    readonly code: AriErrorCode,
    message: string,
    readonly status: number | null = null,
    readonly operation = '',
  ) {
    super(operation ? `${operation}: ${message}` : message);
  }
}

export function codeForStatus(status: number): AriErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 400 || status === 422) return 'BAD_REQUEST';
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  return 'SERVER_ERROR';
}

/** fetch says only "fetch failed"; the reason is in its cause (e.g. "connect ECONNREFUSED 127.0.0.1:8088"). */
export function fetchFailure(err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof AriError && err.code === 'NOT_FOUND';
}
