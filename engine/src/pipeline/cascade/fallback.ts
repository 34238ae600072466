/**
 * A cloud part with an offline stand-in (docs/cascade.md, "Fallback"): one
 * direction's translator or synthesizer tries the cloud provider and, when it
 * fails, answers the same call with the offline one (Apertium, espeak-ng), so
 * the utterance is not lost. After `afterFailures` failures in a row — at once
 * for a refused connection or a stall — the direction switches to the offline
 * part and stops paying the cloud's failures; after `probeInitialMs` (doubling
 * up to `probeMaxMs` while it keeps failing) the next real call tries the cloud
 * again, and its success switches back. Real calls are the probes, so no
 * billed test traffic is sent. Each switch is counted and logged once.
 *
 * The state is per direction (each direction wraps its own parts), so a cloud
 * provider failing for one direction changes nothing for the other.
 */
import { errorMessage } from '../../../../common/src/errors.js';
import type { Logger } from '../../../../common/src/logger.js';
import { ProviderError } from '../providers/types.js';
import { withDeadline } from './deadline.js';
import type { CascadeSynthesizer, CascadeTranslator, SpeakRequest, TranslateRequest } from './types.js';

export interface FallbackPolicy {
  afterFailures: number;
  stallMs: number;
  probeInitialMs: number;
  probeMaxMs: number;
}

export interface FallbackStats {
  using: 'cloud' | 'fallback';
  cloudFailures: number;
  fallbackCalls: number;
  switchedToFallback: number;
  switchedToCloud: number;
}

/** Errors that say the provider is unwell; an abort, a closed part or an unsupported language do not. */
const UNWELL = new Set(['unavailable', 'timeout', 'failed', 'overloaded', 'unauthorized']);
/** These switch at once: waiting for a second one costs another utterance's delay for nothing. */
const AT_ONCE = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/;

/** Which part a direction uses now, and when the cloud part is tried again. */
export class CloudHealth {
  readonly #policy: FallbackPolicy;
  readonly #what: string;
  readonly #log: Logger;
  readonly #now: () => number;
  #using: 'cloud' | 'fallback' = 'cloud';
  #inARow = 0;
  #delay: number;
  #retryAt = 0;
  readonly counts = { cloudFailures: 0, fallbackCalls: 0, switchedToFallback: 0, switchedToCloud: 0 };

  constructor(policy: FallbackPolicy, what: string, log: Logger, now: () => number = () => performance.now()) {
    this.#policy = policy;
    this.#what = what;
    this.#log = log;
    this.#now = now;
    this.#delay = policy.probeInitialMs;
  }

  get using(): 'cloud' | 'fallback' {
    return this.#using;
  }

  /** Whether this call should try the cloud part (always while healthy; once the probe time has come while not). */
  tryCloud(): boolean {
    return this.#using === 'cloud' || this.#now() >= this.#retryAt;
  }

  succeeded(): void {
    this.#inARow = 0;
    if (this.#using === 'cloud') return;
    this.#using = 'cloud';
    this.#delay = this.#policy.probeInitialMs;
    this.counts.switchedToCloud++;
    this.#log.info({ part: this.#what }, 'cloud provider answered again: back from the offline fallback');
  }

  /** Whether the error says the provider is unwell (else it is the call's own problem and is passed on). */
  static unwell(err: unknown): boolean {
    return err instanceof ProviderError && UNWELL.has(err.code);
  }

  failed(err: unknown): void {
    this.counts.cloudFailures++;
    this.#inARow++;
    const now = this.#now();
    if (this.#using === 'fallback') {
      // The probe failed: wait longer before the next one.
      this.#delay = Math.min(this.#delay * 2, this.#policy.probeMaxMs);
      this.#retryAt = now + this.#delay;
      return;
    }
    const atOnce = (err instanceof ProviderError && (err.code === 'timeout' || err.code === 'unauthorized')) || AT_ONCE.test(errorMessage(err));
    if (!atOnce && this.#inARow < this.#policy.afterFailures) return;
    this.#using = 'fallback';
    this.#retryAt = now + this.#delay;
    this.counts.switchedToFallback++;
    this.#log.warn({ part: this.#what, err: errorMessage(err), failuresInARow: this.#inARow, retryInMs: this.#delay }, 'cloud provider down: using the offline fallback');
  }

  stats(): FallbackStats {
    return { using: this.#using, ...this.counts };
  }
}

function failIfAborted(signal: AbortSignal, err: unknown): void {
  if (signal.aborted) throw err instanceof ProviderError ? err : new ProviderError('aborted', 'aborted');
}

/** `now` is for tests (a clock they move); the probe times are measured on it. */
export function fallbackTranslator(cloud: CascadeTranslator, offline: CascadeTranslator, policy: FallbackPolicy, log: Logger, now?: () => number): CascadeTranslator & { health: CloudHealth } {
  const health = new CloudHealth(policy, `translator ${cloud.name}`, log, now);
  return {
    name: `${cloud.name}|${offline.name}`,
    health,
    async translate(text: string, request: TranslateRequest): Promise<string> {
      if (health.tryCloud()) {
        try {
          const out = await withDeadline((signal) => cloud.translate(text, { ...request, signal }), request.signal, policy.stallMs, `${cloud.name} translation`);
          health.succeeded();
          return out;
        } catch (err) {
          failIfAborted(request.signal, err);
          if (!CloudHealth.unwell(err)) throw err;
          health.failed(err);
        }
      }
      health.counts.fallbackCalls++;
      return offline.translate(text, request);
    },
    release(): void {
      cloud.release();
      offline.release();
    },
    stats: () => health.stats(),
  };
}

export function fallbackSynthesizer(
  cloud: CascadeSynthesizer,
  offline: CascadeSynthesizer,
  policy: FallbackPolicy,
  log: Logger,
  now?: () => number,
): CascadeSynthesizer & { health: CloudHealth } {
  if (cloud.sampleRate !== offline.sampleRate) throw new Error('a fallback synthesizer must produce the same rate as the cloud one');
  const health = new CloudHealth(policy, `synthesizer ${cloud.name}`, log, now);
  return {
    name: `${cloud.name}|${offline.name}`,
    sampleRate: cloud.sampleRate,
    health,
    async speak(text: string, request: SpeakRequest): Promise<void> {
      if (health.tryCloud()) {
        let heard = false;
        const stall = new AbortController();
        const onAbort = (): void => stall.abort();
        request.signal.addEventListener('abort', onAbort, { once: true });
        let stalled = false;
        const timer = setTimeout(() => {
          stalled = true;
          stall.abort();
        }, policy.stallMs);
        try {
          await cloud.speak(text, {
            ...request,
            signal: stall.signal,
            onAudio: (pcm) => {
              if (!heard) {
                heard = true;
                clearTimeout(timer);
              }
              request.onAudio(pcm);
            },
          });
          health.succeeded();
          return;
        } catch (err) {
          failIfAborted(request.signal, err);
          const cause = stalled ? new ProviderError('timeout', `${cloud.name} gave no audio within ${policy.stallMs} ms`) : err;
          if (!stalled && !CloudHealth.unwell(err)) throw err;
          health.failed(cause);
          // Audio already played cannot be taken back: speaking the sentence again would repeat it.
          if (heard) throw cause;
        } finally {
          clearTimeout(timer);
          request.signal.removeEventListener('abort', onAbort);
        }
      }
      health.counts.fallbackCalls++;
      return offline.speak(text, request);
    },
    close(): void {
      cloud.close();
      offline.close();
    },
    stats: () => health.stats(),
  };
}
