import { ProviderError } from '../providers/types.js';

/** Runs `work` with a signal that fires on the outer abort or after `ms`; a timeout rejects with ProviderError('timeout'). */
export async function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, outer: AbortSignal, ms: number, what: string): Promise<T> {
  const inner = new AbortController();
  const onAbort = (): void => inner.abort();
  outer.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // Reject first: the abort makes the work reject too, and the race must report the timeout, not the abort.
      reject(new ProviderError('timeout', `${what} took longer than ${ms} ms`));
      inner.abort();
    }, ms);
  });
  try {
    return await Promise.race([work(inner.signal), deadline]);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', onAbort);
  }
}
