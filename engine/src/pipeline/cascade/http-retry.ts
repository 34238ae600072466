/**
 * One HTTP request to a cloud REST API with the retries its docs ask for:
 * 429 and 5xx answers (and a connection that fails before any answer) are
 * retried up to `maxRetries` times, after the `Retry-After` the service gave
 * (seconds or an HTTP date, capped) or else a jittered exponential backoff;
 * never past the caller's signal. What is left is mapped to a ProviderError
 * (401/403 unauthorized, 429 overloaded, 400 invalid_input, 5xx and network
 * unavailable), with the service's own error text, never a header.
 * Used by the Azure Translator and Azure text-to-speech adapters.
 */
import { errorMessage } from '../../../../common/src/errors.js';
import { ProviderError, type ProviderErrorCode } from '../providers/types.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff without a Retry-After (doubles each time, ±20 %). */
  initialDelayMs: number;
  /** No single wait (Retry-After included) is longer than this: a longer one fails now instead. */
  maxDelayMs: number;
}

export interface RetryCounts {
  retries: number;
}

/** How long a Retry-After asks to wait (ms), or null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function statusCode(status: number): ProviderErrorCode {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 429) return 'overloaded';
  if (status === 400 || status === 413) return 'invalid_input';
  if (status >= 500) return 'unavailable';
  return 'failed';
}

const retryable = (status: number): boolean => status === 429 || status >= 500;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ProviderError('aborted', 'aborted while waiting to retry'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ProviderError('aborted', 'aborted while waiting to retry'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The service's error text from a failed answer's body (JSON `error.message`/`message`, or plain text), short. */
async function errorText(res: Response): Promise<string> {
  let body = '';
  try {
    body = (await res.text()).slice(0, 2000);
  } catch {
    return '';
  }
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown; code?: unknown }; message?: unknown };
    const m = j.error?.message ?? j.message;
    const code = j.error?.code;
    if (typeof m === 'string') return `${m.slice(0, 200)}${typeof code === 'number' || typeof code === 'string' ? ` (${code})` : ''}`;
  } catch {
    // Not JSON: the text itself.
  }
  return body.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * Sends the request (built afresh each attempt) until an answer is 2xx or not
 * worth retrying; resolves with the 2xx Response (its body unread).
 */
export async function fetchWithRetry(service: string, request: () => { url: string; init: RequestInit }, signal: AbortSignal, policy: RetryPolicy, counts?: RetryCounts): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw new ProviderError('aborted', `${service} call aborted`);
    const { url, init } = request();
    let res: Response;
    let wait: number | null = null;
    let failure: ProviderError;
    try {
      res = await fetch(url, { ...init, signal, redirect: 'error' });
      if (res.ok) return res;
      wait = retryAfterMs(res.headers.get('retry-after'));
      const detail = await errorText(res);
      failure = new ProviderError(statusCode(res.status), `${service} answered HTTP ${res.status}${detail === '' ? '' : `: ${detail}`}`);
      if (!retryable(res.status)) throw failure;
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (signal.aborted) throw new ProviderError('aborted', `${service} call aborted`);
      failure = new ProviderError('unavailable', `${service}: ${errorMessage(err)}`);
    }
    if (attempt >= policy.maxRetries) throw failure;
    const backoff = Math.round(policy.initialDelayMs * 2 ** attempt * (0.8 + 0.4 * Math.random()));
    if (wait !== null && wait > policy.maxDelayMs) throw new ProviderError(failure.code, `${failure.message} (Retry-After ${Math.round(wait)} ms is more than ${policy.maxDelayMs})`);
    if (counts !== undefined) counts.retries++;
    await sleep(Math.min(wait ?? backoff, policy.maxDelayMs), signal);
  }
}
