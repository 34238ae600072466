/**
 * What ari-client hands back, made into Tandem's terms: a failed request's
 * error code and status, and a response checked against its schema.
 */
import { errorMessage } from '../../../common/src/errors.js';
import { AriError, type AriErrorCode } from './errors.js';

/**
 * ari-client (kept for the app's WebSocket and events, which it speaks well) loses the HTTP status of a failed request: it
 * rejects with `new Error(<response body>)` (lib/client.js, swaggerError). The
 * body texts Asterisk sends are stable (docs/asterisk-facts.md, HTTP and errors), so the code
 * is recovered from them here, in one place.
 */
export function classifyAriFailure(err: unknown): { code: AriErrorCode; status: number | null; message: string } {
  const text = errorMessage(err);
  let message = text;
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    if (typeof body.message === 'string') message = body.message;
    else if (typeof body.error === 'string') message = body.error;
  } catch {
    // Not a response body: a transport error.
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)$/.test(code)) {
    return { code: 'UNAVAILABLE', status: null, message };
  }
  if (/not found/i.test(message)) return { code: 'NOT_FOUND', status: 404, message };
  if (/already exists/i.test(message)) return { code: 'CONFLICT', status: 409, message };
  if (/authentication required/i.test(message)) return { code: 'UNAUTHORIZED', status: 401, message };
  if (/(must be|cannot be empty|is required|invalid)/i.test(message)) return { code: 'BAD_REQUEST', status: 400, message };
  if (/allocation failed|internal error|unable to/i.test(message)) return { code: 'SERVER_ERROR', status: 500, message };
  return { code: 'SERVER_ERROR', status: null, message };
}

/** ari-client's resource objects carry a back-reference to the client; keep only data. */
export function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key.startsWith('_') || typeof field === 'function') continue;
    out[key] = field;
  }
  return out;
}

export function parseWith<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, value: unknown, operation: string): T {
  const result = schema.safeParse(plain(value));
  if (!result.success) throw new AriError('BAD_RESPONSE', `unexpected response shape: ${result.error.message}`, null, operation);
  return result.data;
}
