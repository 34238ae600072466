/**
 * A local Synthesizer: espeak-ng speaks, sox resamples to the call's rate. No
 * network, no model; robotic but understandable, and always there.
 *
 * Each call runs espeak-ng then sox as child processes (never through a shell;
 * the text is an argument after `--`). At most `maxConcurrent` calls run at
 * once; up to `maxQueued` more wait in order, and a call beyond that is
 * rejected at once with `overloaded`, so a burst cannot pile up processes or
 * memory. A call settles within `timeoutMs` of being accepted (queue wait
 * included); a timeout, an abort or close() kills its process with SIGKILL.
 *
 * The WAV parsing comes from streaming/espeak.ts. Its `run()` takes no
 * AbortSignal and hands out no child, so the spawning is done here; if that
 * helper grows a signal, this file can use synthesizeSpeech() directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { z } from 'zod';
import { errorMessage } from '../../../../common/src/errors.js';
import { logger } from '../../../../common/src/logger.js';
import { parseConfig } from '../../../../common/src/parse-config.js';
import { parseWav } from '../streaming/espeak.js';
import {
  ProviderError,
  type ProviderSampleRate,
  type ProviderSessionContext,
  type SynthesisOptions,
  type SynthesisSession,
  type Synthesizer,
} from './types.js';
import { loadVoiceTable, resolveVoice, type VoiceTable } from './espeak-voices.js';

export { parseVoiceList, resolveVoice, type VoiceTable } from './espeak-voices.js';

export const EspeakSynthesizerOptionsSchema = z
  .object({
    /** espeak-ng/sox calls running at once (each runs one process at a time). */
    maxConcurrent: z.number().int().min(1).max(64).default(4),
    /** Calls waiting for a slot; beyond this a call is rejected with `overloaded`. */
    maxQueued: z.number().int().min(0).max(10_000).default(64),
    /** A call settles within this many ms of being accepted, queue wait included. */
    timeoutMs: z.number().int().positive().max(120_000).default(10_000),
    /** Longest text accepted (characters); longer is `text_too_long`. Bounded by the OS argument size. */
    maxTextLength: z.number().int().positive().max(20_000).default(2000),
    /** espeak-ng speaking rate (its default is 175). */
    wordsPerMinute: z.number().int().min(80).max(450).default(175),
    /** Language tag → espeak-ng voice, consulted before the built-in mapping (keys compared case-insensitively). */
    voices: z.record(z.string(), z.string().regex(/^[a-z]{2,3}(-[a-z0-9]{1,8})*(\+[a-z0-9]+)?$/i)).default({}),
    /** Largest audio accepted from a process (espeak-ng at 22 kHz writes ~44 KB per second of speech). */
    maxOutputBytes: z.number().int().positive().default(32 * 1024 * 1024),
  })
  .strict();

export type EspeakSynthesizerOptions = z.input<typeof EspeakSynthesizerOptionsSchema>;
type Settings = z.output<typeof EspeakSynthesizerOptionsSchema>;

export type EspeakCommand = 'espeak-ng' | 'sox';

export interface EspeakSynthesizerDeps {
  /** Called right after each child process is spawned (tests count and kill-check them). */
  onSpawn?: (child: ChildProcess, command: EspeakCommand) => void;
}

export interface EspeakSynthesizerStats {
  /** synthesize() calls, including rejected ones. */
  calls: number;
  succeeded: number;
  /** Calls that ended in any error (timeouts, aborts and overload rejections included). */
  failures: number;
  timeouts: number;
  aborted: number;
  /** Rejected at once because the queue was full. */
  overloaded: number;
  running: number;
  queued: number;
  /** Child processes alive now, and the most seen at once. */
  processes: number;
  peakProcesses: number;
  /** Latency of successful calls (accept to result), over the last 1024. */
  p50Ms: number;
  p99Ms: number;
}

const LATENCY_WINDOW = 1024;

interface Job {
  text: string;
  language: string;
  sampleRate: ProviderSampleRate;
  acceptedAt: number;
  resolve: (pcm: Int16Array) => void;
  reject: (err: ProviderError) => void;
  settled: boolean;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  child: ChildProcess | null;
}

const log = logger('pipeline.espeak-synthesizer');

export class EspeakSynthesizer implements Synthesizer {
  readonly kind = 'synthesis' as const;
  readonly name = 'espeak-ng';

  readonly #settings: Settings;
  readonly #deps: EspeakSynthesizerDeps;
  #voices: Promise<VoiceTable> | null = null;
  readonly #queue: Job[] = [];
  readonly #running = new Set<Job>();
  /** Runs not yet finished: their processes may still be exiting. */
  readonly #runs = new Set<Promise<void>>();
  readonly #sessions = new Set<EspeakSynthesisSession>();
  #closing: Promise<void> | null = null;

  readonly #latencies = new Float64Array(LATENCY_WINDOW);
  #latencyCount = 0;
  readonly #counters = { calls: 0, succeeded: 0, failures: 0, timeouts: 0, aborted: 0, overloaded: 0, processes: 0, peakProcesses: 0 };

  /** ConfigError for bad options. Spawns nothing until connect() or the first call. */
  constructor(options: EspeakSynthesizerOptions = {}, deps: EspeakSynthesizerDeps = {}) {
    this.#settings = parseConfig(EspeakSynthesizerOptionsSchema, options, 'espeak');
    this.#deps = deps;
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /** Reads espeak-ng's voice list (once); rejects with `unavailable` when espeak-ng cannot run. */
  async connect(): Promise<void> {
    if (this.#closing !== null) throw new ProviderError('closed', 'synthesizer is closed');
    await this.#voiceTable();
  }

  /** The voice a tag maps to (connects first). */
  async voiceFor(language: string): Promise<string> {
    return resolveVoice(await this.#voiceTable(), language, this.#settings.voices);
  }

  synthesize(text: string, options: SynthesisOptions): Promise<Int16Array> {
    this.#counters.calls++;
    const refusal = this.#refusal(text, options);
    if (refusal !== null) return Promise.reject(this.#count(refusal));
    if (text.trim() === '') {
      this.#counters.succeeded++;
      return Promise.resolve(new Int16Array(0));
    }
    if (this.#running.size >= this.#settings.maxConcurrent && this.#queue.length >= this.#settings.maxQueued) {
      return Promise.reject(
        this.#count(new ProviderError('overloaded', `espeak-ng: ${this.#running.size} running and ${this.#queue.length} queued; try later`)),
      );
    }
    return new Promise<Int16Array>((resolve, reject) => {
      const job: Job = {
        text,
        language: options.language,
        sampleRate: options.sampleRate,
        acceptedAt: performance.now(),
        resolve,
        reject,
        settled: false,
        signal: options.signal,
        timer: setTimeout(() => this.#fail(job, new ProviderError('timeout', `espeak-ng took longer than ${this.#settings.timeoutMs} ms`)), this.#settings.timeoutMs),
        onAbort: () => this.#fail(job, abortError(options.signal)),
        child: null,
      };
      options.signal?.addEventListener('abort', job.onAbort, { once: true });
      this.#queue.push(job);
      this.#pump();
    });
  }

  openSession(context: ProviderSessionContext): SynthesisSession {
    if (this.#closing !== null) throw new ProviderError('closed', 'synthesizer is closed');
    const session = new EspeakSynthesisSession(this, context, () => this.#sessions.delete(session));
    this.#sessions.add(session);
    return session;
  }

  stats(): EspeakSynthesizerStats {
    const n = Math.min(this.#latencyCount, LATENCY_WINDOW);
    const sorted = Array.from(this.#latencies.subarray(0, n)).sort((a, b) => a - b);
    const pick = (q: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(q * n))]!);
    const { processes, peakProcesses, ...counts } = this.#counters;
    return { ...counts, running: this.#running.size, queued: this.#queue.length, processes, peakProcesses, p50Ms: pick(0.5), p99Ms: pick(0.99) };
  }

  /** Rejects queued calls and kills running ones (`closed`), closes sessions, waits for the processes to exit. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    for (const session of [...this.#sessions]) session.close();
    const closed = (): ProviderError => new ProviderError('closed', 'synthesizer closed');
    for (const job of [...this.#queue, ...this.#running]) this.#fail(job, closed());
    await Promise.all([...this.#runs]);
    await this.#voices?.catch(() => undefined);
    log.info({ stats: this.stats() }, 'espeak synthesizer closed');
  }

  #refusal(text: string, options: SynthesisOptions): ProviderError | null {
    if (this.#closing !== null) return new ProviderError('closed', 'synthesizer is closed');
    if (options.signal?.aborted) return abortError(options.signal);
    if (options.sampleRate !== 8000 && options.sampleRate !== 16000) {
      return new ProviderError('invalid_input', `sample rate must be 8000 or 16000, got ${String(options.sampleRate)}`);
    }
    if (text.length > this.#settings.maxTextLength) {
      return new ProviderError('text_too_long', `text of ${text.length} characters; at most ${this.#settings.maxTextLength}`);
    }
    return null;
  }

  #count(err: ProviderError): ProviderError {
    this.#counters.failures++;
    if (err.code === 'timeout') this.#counters.timeouts++;
    else if (err.code === 'aborted') this.#counters.aborted++;
    else if (err.code === 'overloaded') this.#counters.overloaded++;
    return err;
  }

  #pump(): void {
    while (this.#running.size < this.#settings.maxConcurrent && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#running.add(job);
      const run = this.#run(job).finally(() => {
        this.#running.delete(job);
        this.#runs.delete(run);
        if (this.#closing === null) this.#pump();
      });
      this.#runs.add(run);
    }
  }

  /** Never rejects: the outcome goes to the job. Returns once its last process has exited. */
  async #run(job: Job): Promise<void> {
    try {
      const voice = resolveVoice(await this.#voiceTable(), job.language, this.#settings.voices);
      if (job.settled) return;
      const args = ['-v', voice, '-s', String(this.#settings.wordsPerMinute), '--stdout', '--', job.text];
      const wav = parseWav(await this.#exec(job, 'espeak-ng', args, null));
      let bytes = wav.data;
      if (wav.sampleRate !== job.sampleRate) {
        const raw = (rate: number): string[] => ['-t', 'raw', '-r', String(rate), '-e', 'signed-integer', '-b', '16', '-c', '1', '-L'];
        bytes = await this.#exec(job, 'sox', ['-q', ...raw(wav.sampleRate), '-', ...raw(job.sampleRate), '-'], bytes);
      }
      const pcm = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
      this.#succeed(job, pcm);
    } catch (err) {
      this.#fail(job, err instanceof ProviderError ? err : new ProviderError('failed', errorMessage(err), { cause: err }));
    }
  }

  /** Runs one process for a job; a job settled meanwhile (timeout, abort, close) has already killed it. */
  #exec(job: Job, command: EspeakCommand, args: string[], input: Buffer | null): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (job.settled) {
        reject(new ProviderError('aborted', 'call already settled'));
        return;
      }
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const counters = this.#counters;
      counters.processes++;
      counters.peakProcesses = Math.max(counters.peakProcesses, counters.processes);
      job.child = child;
      const chunks: Buffer[] = [];
      let size = 0;
      let stderr = '';
      let done = false;
      const finish = (err: Error | null): void => {
        if (done) return;
        done = true;
        counters.processes--;
        if (job.child === child) job.child = null;
        if (err) reject(err);
        else resolve(Buffer.concat(chunks));
      };
      child.on('error', (err) =>
        finish(new ProviderError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'unavailable' : 'failed', `${command}: ${err.message}`)),
      );
      child.stdout.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= this.#settings.maxOutputBytes) chunks.push(chunk);
        else if (child.exitCode === null) child.kill('SIGKILL');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 2000) stderr += chunk.toString('utf8');
      });
      child.on('close', (code, signal) => {
        if (code === 0 && size <= this.#settings.maxOutputBytes) finish(null);
        else if (size > this.#settings.maxOutputBytes) finish(new ProviderError('failed', `${command} wrote more than ${this.#settings.maxOutputBytes} bytes`));
        else finish(new ProviderError('failed', `${command} exited with ${code ?? signal}: ${stderr.trim().slice(0, 200)}`));
      });
      // EPIPE when the child dies early is reported through 'close'.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? undefined);
      this.#deps.onSpawn?.(child, command);
    });
  }

  async #voiceTable(): Promise<VoiceTable> {
    if (this.#voices === null) {
      const loading = this.#loadVoices();
      this.#voices = loading;
      // A failed load is not cached: the next call tries again (espeak-ng may have been installed since).
      loading.catch(() => {
        if (this.#voices === loading) this.#voices = null;
      });
    }
    return this.#voices;
  }

  async #loadVoices(): Promise<VoiceTable> {
    const table = await loadVoiceTable(this.#settings.timeoutMs);
    log.info({ voices: table.size }, 'espeak-ng voices loaded');
    return table;
  }

  #succeed(job: Job, pcm: Int16Array): void {
    if (!this.#settle(job)) return;
    this.#counters.succeeded++;
    this.#latencies[this.#latencyCount++ % LATENCY_WINDOW] = performance.now() - job.acceptedAt;
    job.resolve(pcm);
  }

  #fail(job: Job, err: ProviderError): void {
    if (!this.#settle(job)) return;
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) this.#queue.splice(queued, 1);
    // The run notices `settled` and the slot frees once the process has exited.
    if (job.child !== null && job.child.exitCode === null && job.child.signalCode === null) job.child.kill('SIGKILL');
    job.reject(this.#count(err));
  }

  /** Marks a job settled once; false if it already was. */
  #settle(job: Job): boolean {
    if (job.settled) return false;
    job.settled = true;
    clearTimeout(job.timer);
    job.signal?.removeEventListener('abort', job.onAbort);
    return true;
  }
}

/** A caller's abort, unless the signal carries a ProviderError (a closing session says `closed`). */
function abortError(signal: AbortSignal | undefined): ProviderError {
  const reason: unknown = signal?.reason;
  return reason instanceof ProviderError ? reason : new ProviderError('aborted', 'synthesis aborted by the caller');
}

/** One direction's synthesis: the context's language and rate; close() cancels only its own calls. */
class EspeakSynthesisSession implements SynthesisSession {
  readonly context: Readonly<ProviderSessionContext>;
  readonly #owner: EspeakSynthesizer;
  readonly #onClose: () => void;
  readonly #controller = new AbortController();
  #closed = false;

  constructor(owner: EspeakSynthesizer, context: ProviderSessionContext, onClose: () => void) {
    this.#owner = owner;
    this.context = Object.freeze({ ...context });
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  synthesize(text: string, options: { signal?: AbortSignal } = {}): Promise<Int16Array> {
    if (this.#closed) return Promise.reject(new ProviderError('closed', 'synthesis session is closed'));
    const signal = options.signal === undefined ? this.#controller.signal : AbortSignal.any([this.#controller.signal, options.signal]);
    return this.#owner.synthesize(text, { language: this.context.targetLanguage, sampleRate: this.context.sampleRate, signal });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.abort(new ProviderError('closed', 'synthesis session closed'));
    this.#onClose();
  }
}
