/**
 * Apertium (Debian's `apertium` + a language-pair package such as
 * `apertium-eng-spa`) as a long-lived, offline translator: one pipeline of
 * processes per language pair, fed NUL-separated sentences ("null flush"), so a
 * sentence costs a write and a read, never a process start.
 *
 * Why not `apertium -z eng-spa` itself: its text deformatter buffers until EOF,
 * its awk wrappers read one record ahead (each answer would wait for the next
 * sentence), and it opens /dev/stdin, which fails on the socket pair Node gives
 * a child. So the pair's mode is run directly: `apertium-wblank-mode -z <mode>`
 * prints the pipeline with every stage in null-flush mode, and `cat` turns our
 * socket into the pipe it expects. The text is raw Apertium stream format, so
 * its reserved characters are escaped here. The mode path is validated and
 * passed as an argument, never spliced into the shell string.
 *
 * Answers come back in order, so calls form a FIFO. A call that times out or is
 * aborted keeps its place (its answer is read and thrown away); a pipeline that
 * does not answer within `requestTimeoutMs` is killed and every call in flight
 * fails — the next call starts a new one (counted as a restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../../../../common/src/logger.js';
import { ProviderError } from '../providers/types.js';
import type { TranslateRequest } from './types.js';

export interface ApertiumOptions {
  /** Where the `<pair>.mode` files are (Debian: /usr/share/apertium/modes). */
  modesDir: string;
  /** A pipeline that has not answered the oldest call within this long is restarted. */
  requestTimeoutMs: number;
  /** Calls in flight per pipeline beyond which a call is refused with `overloaded`. */
  maxInFlight: number;
  /** BCP 47 primary subtag → Apertium's code, consulted before the built-in table. */
  languageCodes: Record<string, string>;
}

/** Apertium names languages by ISO 639-3. */
const ISO639_3: Record<string, string> = {
  en: 'eng', es: 'spa', ca: 'cat', fr: 'fra', pt: 'por', it: 'ita', gl: 'glg', oc: 'oci', eu: 'eus', ro: 'ron', de: 'deu', nl: 'nld',
  sv: 'swe', da: 'dan', nb: 'nob', nn: 'nno', is: 'isl', cy: 'cym', br: 'bre', ga: 'gle', eo: 'epo', ru: 'rus', uk: 'ukr', bg: 'bul',
  mk: 'mkd', sr: 'srp', hr: 'hrv', bs: 'bos', sl: 'slv', pl: 'pol', cs: 'ces', sk: 'slk', ar: 'ara', mt: 'mlt', kk: 'kaz', tt: 'tat',
  hi: 'hin', ur: 'urd', id: 'ind', ms: 'zlm',
};

const log = logger('pipeline.apertium');

/** The mode name for a direction, e.g. en-US → es-MX = "eng-spa". */
export function apertiumPair(source: string, target: string, codes: Record<string, string> = {}): string {
  const code = (tag: string): string => {
    const primary = tag.split('-')[0]!.toLowerCase();
    const found = codes[primary] ?? ISO639_3[primary];
    if (found === undefined) throw new ProviderError('unsupported_language', `no Apertium code for language "${tag}"`);
    return found;
  };
  return `${code(source)}-${code(target)}`;
}

/** Apertium stream format reserves these; unescaped they would be read as markup. */
const RESERVED = /[\\[\]^$/<>@{}*]/g;

export function escapeApertium(text: string): string {
  // NUL ends a sentence and a newline is a record break in the pipeline: neither may be inside one.
  return text.replace(/[\0\r\n]+/g, ' ').replace(RESERVED, (c) => `\\${c}`);
}

export function unescapeApertium(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

interface Call {
  resolve: (text: string) => void;
  reject: (err: ProviderError) => void;
  /** Settled already (aborted or timed out): its answer is read and dropped. */
  done: boolean;
  sentAt: number;
}

/** One pipeline (one language pair) and its FIFO of calls. */
class ApertiumPipeline {
  readonly #pair: string;
  readonly #modeFile: string;
  readonly #options: ApertiumOptions;
  #child: ChildProcess | null = null;
  #calls: Call[] = [];
  #buffer = '';
  #watchdog: NodeJS.Timeout | null = null;
  readonly counts = { calls: 0, answers: 0, restarts: 0, failures: 0 };

  constructor(pair: string, modeFile: string, options: ApertiumOptions) {
    this.#pair = pair;
    this.#modeFile = modeFile;
    this.#options = options;
  }

  get inFlight(): number {
    return this.#calls.length;
  }

  translate(text: string, signal: AbortSignal): Promise<string> {
    this.counts.calls++;
    if (signal.aborted) return Promise.reject(new ProviderError('aborted', 'translation aborted'));
    if (this.#calls.length >= this.#options.maxInFlight) {
      this.counts.failures++;
      return Promise.reject(new ProviderError('overloaded', `apertium ${this.#pair}: ${this.#calls.length} calls in flight`));
    }
    const child = this.#ensure();
    return new Promise<string>((resolve, reject) => {
      const call: Call = { resolve, reject, done: false, sentAt: performance.now() };
      const onAbort = (): void => {
        if (call.done) return;
        call.done = true;
        reject(new ProviderError('aborted', 'translation aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      call.resolve = (t) => {
        signal.removeEventListener('abort', onAbort);
        resolve(t);
      };
      this.#calls.push(call);
      child.stdin!.write(`${escapeApertium(text)}\n\0`);
      this.#arm();
    });
  }

  close(): void {
    this.#fail(new ProviderError('closed', 'apertium closed'));
  }

  #ensure(): ChildProcess {
    if (this.#child !== null) return this.#child;
    // `cat |` gives the pipeline a real pipe for stdin (the stages read /dev/stdin-like fds); "$1"/"$2" are the mode's own parameters.
    const child = spawn('bash', ['-c', 'cat | bash <(apertium-wblank-mode -z "$1") -n ""', 'apertium', this.#modeFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so a restart ends every stage of the pipeline, not just bash.
      detached: true,
    });
    this.#child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.#onData(chunk));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 1000) stderr += chunk.toString('utf8');
    });
    child.stdin!.on('error', () => undefined); // reported through 'close'
    child.on('error', (err) => this.#lost(child, `cannot run: ${err.message}`));
    child.on('close', (code, sig) => this.#lost(child, `exited with ${code ?? sig}${stderr === '' ? '' : `: ${stderr.trim().slice(0, 200)}`}`));
    log.info({ pair: this.#pair }, 'apertium pipeline started');
    return child;
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    for (let nul = this.#buffer.indexOf('\0'); nul >= 0; nul = this.#buffer.indexOf('\0')) {
      const answer = this.#buffer.slice(0, nul);
      this.#buffer = this.#buffer.slice(nul + 1);
      const call = this.#calls.shift();
      if (call === undefined) continue; // a stray flush (e.g. at exit)
      this.counts.answers++;
      if (!call.done) {
        call.done = true;
        call.resolve(unescapeApertium(answer).trim());
      }
    }
    this.#arm();
  }

  /** Watches the oldest call: a pipeline that does not answer it in time is restarted. */
  #arm(): void {
    if (this.#watchdog !== null) clearTimeout(this.#watchdog);
    this.#watchdog = null;
    const oldest = this.#calls[0];
    if (oldest === undefined) return;
    const left = Math.max(0, oldest.sentAt + this.#options.requestTimeoutMs - performance.now());
    this.#watchdog = setTimeout(() => {
      this.#watchdog = null;
      log.warn({ pair: this.#pair, inFlight: this.#calls.length }, 'apertium pipeline stalled; restarting');
      this.#fail(new ProviderError('timeout', `apertium ${this.#pair} did not answer within ${this.#options.requestTimeoutMs} ms`));
    }, left);
  }

  #lost(child: ChildProcess, why: string): void {
    if (this.#child !== child) return;
    log.warn({ pair: this.#pair, why }, 'apertium pipeline ended');
    this.#fail(new ProviderError('unavailable', `apertium ${this.#pair} ${why}`));
  }

  #fail(err: ProviderError): void {
    if (this.#watchdog !== null) clearTimeout(this.#watchdog);
    this.#watchdog = null;
    const child = this.#child;
    this.#child = null;
    this.#buffer = '';
    if (child !== null) {
      this.counts.restarts++;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL'); // the group is already gone
      }
      child.stdin?.destroy();
    }
    const calls = this.#calls;
    this.#calls = [];
    for (const call of calls) {
      if (call.done) continue;
      call.done = true;
      this.counts.failures++;
      call.reject(err);
    }
  }
}

/**
 * Apertium for every direction of a worker: one pipeline per language pair,
 * started at the first call (the worker's shared-provider registry closes it
 * when no direction uses it any more).
 */
export class ApertiumService {
  readonly #options: ApertiumOptions;
  readonly #pipelines = new Map<string, ApertiumPipeline>();

  constructor(options: ApertiumOptions) {
    this.#options = options;
  }

  /** Whether the pair's mode is installed. */
  hasPair(pair: string): boolean {
    return existsSync(join(this.#options.modesDir, `${pair}.mode`));
  }

  translate(text: string, request: TranslateRequest): Promise<string> {
    let pair: string;
    try {
      pair = apertiumPair(request.sourceLanguage, request.targetLanguage, this.#options.languageCodes);
    } catch (err) {
      return Promise.reject(err as ProviderError);
    }
    if (text.trim() === '') return Promise.resolve('');
    let pipeline = this.#pipelines.get(pair);
    if (pipeline === undefined) {
      if (!this.hasPair(pair)) {
        return Promise.reject(new ProviderError('unsupported_language', `Apertium pair ${pair} is not installed in ${this.#options.modesDir}`));
      }
      pipeline = new ApertiumPipeline(pair, join(this.#options.modesDir, `${pair}.mode`), this.#options);
      this.#pipelines.set(pair, pipeline);
    }
    return pipeline.translate(text, request.signal);
  }

  stats(): Record<string, { calls: number; answers: number; restarts: number; failures: number; inFlight: number }> {
    const out: Record<string, { calls: number; answers: number; restarts: number; failures: number; inFlight: number }> = {};
    for (const [pair, p] of this.#pipelines) out[pair] = { ...p.counts, inFlight: p.inFlight };
    return out;
  }

  /** Ends every pipeline; calls in flight fail with `closed`. Idempotent. */
  close(): void {
    for (const p of this.#pipelines.values()) p.close();
    this.#pipelines.clear();
  }
}
