import { siblingModule, startSourceWorker } from '../../common/src/source-worker.js';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import {
  GENERATOR_ENV,
  fromCoreSchema,
  parseMessage,
  toGeneratorSchema,
  type CoreResult,
  type FromCore,
  type FromGenerator,
  type GeneratorPairPorts,
  type GeneratorPairSpec,
  type GeneratorProgress,
  type GeneratorSchedule,
  type ToCore,
  type ToGenerator,
  type WindowSample,
} from './generator-protocol.js';
import { buildConversationScript, conversationResult, conversationStart, type ConversationScript } from './conversation.js';
import { audioForCodec } from './load-codec.js';
import { NativeCore, coreProcessDelta, coreProcessTimes, nativeCoreBinary, requestedCoreKind, type CoreWorker, type GeneratorCoreKind } from './native-core.js';
import { mergeCoreResults, mergeWindows } from './result-merge.js';
import { loadSpeechAudio } from './speech.js';
import { readSchedTimes, schedWaitPct, type SchedTimes } from './system-counters.js';

/**
 * The generator child process (`child_process.fork` from the orchestrator):
 * plays Asterisk for every pair so the engine process measures only itself.
 * Its main thread only coordinates; the streams run on core threads
 * (generator-worker), whole pairs per thread. It stops by itself after the
 * drain and exits; losing its parent ends it too.
 */
const START_DELAY_MS = 200;
const CORE_TIMEOUT_MS = 30_000;
/** How long before the measured window the heap probe runs, when the warm-up is long enough. */
const PROBE_LEAD_MS = 1500;

const log = logger('loadtest.generator');

interface CoreHandle {
  /** A worker thread running GeneratorCore, or a NativeCore process. */
  worker: CoreWorker;
  progress: GeneratorProgress;
  result: CoreResult | null;
  /** addPairs requests awaiting 'pairsAdded', in order. */
  adding: Array<{ resolve: (ports: GeneratorPairPorts[]) => void; reject: (err: Error) => void }>;
}

function send(message: FromGenerator): void {
  if (process.connected) process.send?.(message);
}

/** Starts a core thread (through tsx when running from the sources). */
function startCoreWorker(): Worker {
  return startSourceWorker(siblingModule(import.meta.url, 'generator-worker'));
}

/**
 * Native cores (C processes, native-core.ts) unless node cores are asked for
 * (`requested`, else GENERATOR_CORE_ENV) or the binary cannot be built; then
 * worker-thread cores, with a notice.
 */
async function chooseCores(requested?: GeneratorCoreKind): Promise<{ kind: 'native'; binary: string } | { kind: 'node' }> {
  if (requested === undefined) {
    try {
      requested = requestedCoreKind();
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'ignoring the generator core setting');
    }
  }
  if (requested === 'node') return { kind: 'node' };
  try {
    return { kind: 'native', binary: await nativeCoreBinary() };
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'native generator core unavailable: using worker-thread cores');
    return { kind: 'node' };
  }
}

class GeneratorProcess {
  readonly #cores: CoreHandle[] = [];
  #timers: NodeJS.Timeout[] = [];
  #startedAt = 0;
  #finished = false;
  #cpuStart: { usage: NodeJS.CpuUsage; at: number; sched: SchedTimes | null; cores: Array<SchedTimes | null> } | null = null;
  #cpuPct = 0;
  #cpuWaitPct: number | null = null;
  #endMeasuring: (() => void) | null = null;
  /** Windows some cores have reported, by index, until every core has. */
  readonly #windows = new Map<number, { samples: WindowSample[] }>();
  /** A turn-taking run's script (the pairs' start frames and the utterances sent follow from it). */
  #script: ConversationScript | null = null;

  async setup(message: Extract<ToGenerator, { type: 'setup' }>): Promise<void> {
    const conversation = message.conversation;
    const [audio, cores] = await Promise.all([
      conversation !== undefined ? buildConversationScript(conversation, { preferTone: message.preferTone }) : loadSpeechAudio({ preferTone: message.preferTone }),
      chooseCores(message.core),
    ]);
    if ('turnFrames' in audio) this.#script = audio;
    const payload = audioForCodec(audio.ulaw, message.codec);
    const capacity = Math.max(message.capacityPairs, message.pairs.length);
    const threads = Math.max(1, Math.min(message.threads, capacity));
    log.info({ cores: cores.kind, threads }, 'generator cores');
    const ready: Array<Promise<GeneratorPairPorts[]>> = [];
    for (let t = 0; t < threads; t++) {
      // Pair i always lives on core i mod threads, also when it is added later.
      const pairs = this.#placed(message.pairs.filter((p) => p.index % threads === t));
      const worker: CoreWorker = cores.kind === 'native' ? new NativeCore(cores.binary) : startCoreWorker();
      const handle: CoreHandle = {
        worker,
        progress: { sent: 0, received: 0, measuredSent: 0, measuredReceived: 0, maxSendLateMs: 0 },
        result: null,
        adding: [],
      };
      this.#cores.push(handle);
      ready.push(this.#watch(handle, pairs));
      const setupMessage: ToCore = {
        type: 'setup',
        pairs,
        socketBufferBytes: message.socketBufferBytes,
        audio: new Uint8Array(payload),
        codec: message.codec,
        impairment: message.impairment,
        capacityPairs: Math.ceil(capacity / threads) + 1,
        // A conversation's pauses must stay silent: no frame tags (the listener hears a translation, never these frames).
        ...(this.#script !== null ? { tagFrames: false } : {}),
      };
      worker.postMessage(setupMessage);
    }
    const ports = (await withTimeout(Promise.all(ready), CORE_TIMEOUT_MS, 'generator sockets')).flat();
    ports.sort((a, b) => a.index - b.index);
    send({ type: 'ready', ports, audio: { source: audio.source, seconds: audio.ulaw.length / 8000 }, threads });
  }

  start(schedule: GeneratorSchedule, requestedStartEpochMs?: number): void {
    const nowEpoch = performance.timeOrigin + performance.now();
    const startAtEpochMs = requestedStartEpochMs !== undefined && requestedStartEpochMs > nowEpoch ? requestedStartEpochMs : nowEpoch + START_DELAY_MS;
    const delay = startAtEpochMs - nowEpoch;
    this.#startedAt = performance.now() + delay;
    for (const core of this.#cores) core.worker.postMessage({ type: 'start', startAtEpochMs, schedule } satisfies ToCore);
    const at = (ms: number, fn: () => void): NodeJS.Timeout => {
      const timer = setTimeout(fn, Math.max(0, delay + ms));
      this.#timers.push(timer);
      return timer;
    };
    if (schedule.warmupMs >= PROBE_LEAD_MS + 500) at(schedule.warmupMs - PROBE_LEAD_MS, () => send({ type: 'phase', phase: 'probe' }));
    at(schedule.warmupMs, () => {
      const coreTimes = coreProcessTimes(this.#cores.map((c) => c.worker));
      this.#cpuStart = { usage: process.cpuUsage(), at: performance.now(), sched: readSchedTimes(), cores: coreTimes };
      send({ type: 'phase', phase: 'measuring' });
    });
    const endMeasuring = (): void => {
      if (this.#endMeasuring === null) return;
      this.#endMeasuring = null;
      clearTimeout(endTimer);
      const start = this.#cpuStart;
      if (start) {
        const used = process.cpuUsage(start.usage);
        const wallMs = performance.now() - start.at;
        // Native cores are processes of their own: their time is added to this process's.
        const cores = coreProcessDelta(start.cores, coreProcessTimes(this.#cores.map((c) => c.worker)));
        this.#cpuPct = ((used.user + used.system) / 1000 / wallMs + cores.runNs / 1e6 / wallMs) * 100;
        const waitPct = schedWaitPct(start.sched, readSchedTimes(), wallMs);
        this.#cpuWaitPct = waitPct === null ? null : waitPct + (cores.waitNs / 1e6 / wallMs) * 100;
      }
      send({ type: 'phase', phase: 'draining' });
    };
    this.#endMeasuring = endMeasuring;
    const endTimer = at(schedule.warmupMs + schedule.measureMs, endMeasuring);
    const interval = setInterval(() => {
      for (const core of this.#cores) core.worker.postMessage({ type: 'progress' } satisfies ToCore);
      // Reports the totals from the previous poll: one second stale at most, and never blocks.
      send({ type: 'progress', elapsedMs: performance.now() - this.#startedAt, progress: this.#sumProgress() });
    }, 1000);
    this.#timers.push(interval);
    const deadline = START_DELAY_MS + schedule.warmupMs + schedule.measureMs + schedule.drainMs + CORE_TIMEOUT_MS;
    this.#timers.push(setTimeout(() => this.#abort('generator cores did not report in time'), deadline));
  }

  /** Pairs opened while running: each core opens its share; answers with every port. */
  async addPairs(pairs: GeneratorPairSpec[]): Promise<void> {
    const threads = this.#cores.length;
    const requests = this.#cores.map((core, t) => {
      const share = this.#placed(pairs.filter((p) => p.index % threads === t));
      if (share.length === 0) return Promise.resolve([]);
      const added = new Promise<GeneratorPairPorts[]>((resolve, reject) => core.adding.push({ resolve, reject }));
      core.worker.postMessage({ type: 'addPairs', pairs: share } satisfies ToCore);
      return added;
    });
    const ports = (await withTimeout(Promise.all(requests), CORE_TIMEOUT_MS, 'added pairs')).flat();
    ports.sort((a, b) => a.index - b.index);
    send({ type: 'pairsAdded', ports });
  }

  /** Ends the measured window now: the cores stop sending and drain; 'draining' goes out at once. */
  finish(): void {
    for (const core of this.#cores) core.worker.postMessage({ type: 'finish' } satisfies ToCore);
    this.#endMeasuring?.();
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    await Promise.all(this.#cores.map((c) => c.worker.terminate().catch(() => undefined)));
  }

  #abort(reason: string): void {
    send({ type: 'error', message: reason });
    void this.close().finally(() => process.exit(1));
  }

  #watch(handle: CoreHandle, pairs: GeneratorPairSpec[]): Promise<GeneratorPairPorts[]> {
    return new Promise((resolve, reject) => {
      handle.worker.on('error', (err) => {
        reject(err);
        this.#abort(`generator core crashed: ${errorMessage(err)}`);
      });
      handle.worker.on('exit', (code) => {
        if (!this.#finished && handle.result === null && code !== 0) this.#abort(`generator core exited with code ${code}`);
      });
      handle.worker.on('message', (raw: unknown) => {
        let message: FromCore;
        try {
          message = parseMessage(fromCoreSchema, raw, 'core');
        } catch (err) {
          this.#abort(errorMessage(err));
          return;
        }
        switch (message.type) {
          case 'ready':
            if (message.ports.length !== pairs.length) reject(new Error(`core opened ${message.ports.length} of ${pairs.length} pairs`));
            else resolve(message.ports);
            break;
          case 'pairsAdded': {
            const waiter = handle.adding.shift();
            waiter?.resolve(message.ports);
            break;
          }
          case 'progress':
            handle.progress = message.progress;
            for (const w of message.windows) this.#onWindow(w);
            break;
          case 'result':
            handle.result = message.result;
            this.#maybeFinish();
            break;
          case 'error':
            reject(new Error(message.message));
            for (const waiter of handle.adding.splice(0)) waiter.reject(new Error(message.message));
            this.#abort(`generator core: ${message.message}`);
            break;
        }
      });
    });
  }

  /** In a conversation, each pair's legs start where conversationStart puts them. */
  #placed(pairs: GeneratorPairSpec[]): GeneratorPairSpec[] {
    const script = this.#script;
    return script === null ? pairs : pairs.map((p) => ({ ...p, startFrames: conversationStart(script, p.index) }));
  }

  /** A window is forwarded once every core has settled it. */
  #onWindow(window: WindowSample): void {
    let entry = this.#windows.get(window.index);
    if (entry === undefined) {
      entry = { samples: [] };
      this.#windows.set(window.index, entry);
    }
    entry.samples.push(window);
    if (entry.samples.length < this.#cores.length) return;
    this.#windows.delete(window.index);
    send({ type: 'window', window: mergeWindows(entry.samples) });
  }

  #sumProgress(): GeneratorProgress {
    const total: GeneratorProgress = { sent: 0, received: 0, measuredSent: 0, measuredReceived: 0, maxSendLateMs: 0 };
    for (const { progress } of this.#cores) {
      total.sent += progress.sent;
      total.received += progress.received;
      total.measuredSent += progress.measuredSent;
      total.measuredReceived += progress.measuredReceived;
      total.maxSendLateMs = Math.max(total.maxSendLateMs, progress.maxSendLateMs);
    }
    return total;
  }

  #maybeFinish(): void {
    if (this.#finished || this.#cores.some((c) => c.result === null)) return;
    this.#finished = true;
    for (const t of this.#timers) clearTimeout(t);
    // Still bounded: without a 'stop' from the orchestrator, leave on our own.
    this.#timers = [setTimeout(() => this.#abort('no stop from the orchestrator after the result'), CORE_TIMEOUT_MS)];
    const results = this.#cores.map((c) => c.result as CoreResult);
    const result = mergeCoreResults(results);
    if (this.#script !== null) result.conversation = conversationResult(this.#script, result.streamFrames ?? []);
    // Sockets stay open until the orchestrator has closed the engine's pairs and says 'stop'.
    send({ type: 'result', result, cpuPct: this.#cpuPct, cpuWaitPct: this.#cpuWaitPct });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not ready within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function main(): void {
  if (!process.send) {
    process.stderr.write('the load generator runs as a child of `tandem loadtest`, not on its own\n');
    process.exit(2);
  }
  const generator = new GeneratorProcess();
  process.on('disconnect', () => {
    void generator.close().finally(() => process.exit(0));
  });
  process.on('message', (raw: unknown) => {
    let message: ToGenerator;
    try {
      message = parseMessage(toGeneratorSchema, raw, 'orchestrator');
    } catch (err) {
      // A protocol error: report it and leave; the orchestrator fails the run with the message.
      send({ type: 'error', message: errorMessage(err) });
      void generator.close().finally(() => process.exit(1));
      return;
    }
    switch (message.type) {
      case 'setup':
        generator.setup(message).catch((err: unknown) => {
          send({ type: 'error', message: `generator setup failed: ${errorMessage(err)}` });
          void generator.close().finally(() => process.exit(1));
        });
        break;
      case 'start':
        generator.start(message.schedule, message.startAtEpochMs);
        break;
      case 'addPairs':
        generator.addPairs(message.pairs).catch((err: unknown) => {
          send({ type: 'error', message: `adding pairs failed: ${errorMessage(err)}` });
          void generator.close().finally(() => process.exit(1));
        });
        break;
      case 'finish':
        generator.finish();
        break;
      case 'stop':
        void generator.close().finally(() => process.exit(0));
        break;
      case 'abort':
        void generator.close().finally(() => process.exit(1));
        break;
    }
  });
  send({ type: 'hello' });
}

// Only as the forked generator: importing this module elsewhere must not start anything.
if (process.env[GENERATOR_ENV] === '1') main();
