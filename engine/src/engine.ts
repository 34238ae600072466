import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { InvalidStateError, TimeoutError, errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { TypedEmitter } from '../../common/src/typed-emitter.js';
import { parseEngineConfig, type EngineConfig, type EngineConfigInput } from './config/engine-config.js';
import type { RecordingSummary } from './pipeline/recording/pair-recorder.js';
import type { Direction } from './pipeline/stage.js';
import type { TranscriptEvent } from './pipeline/transcript-event.js';
import { parsePairTranslation, type PairTranslationInput } from './pipeline/translation/config.js';
import type { DirectionEvent } from './pipeline/translation/translating-stage.js';
import { EngineError } from './session/errors.js';
import { resolveEngineIo } from './config/resolve-io.js';
import type {
  LegName,
  MediaStartInfo,
  OpenPairRequest,
  OpenPairResult,
  PairStats,
  RtpPairResult,
  WebSocketPairResult,
  ShardNotification,
  ShardStats,
  ShardTaskInput,
  UdpEndpoint,
} from './worker/protocol.js';
import { ShardClient } from './worker/shard-client.js';
import { createShardPool } from './worker/shard-pool.js';
import { TAP_SOURCES, type TapSource } from './session/pair-tap.js';
import { createPcmRing, PcmRingReader } from './tap/pcm-ring.js';
import { pairTapHandle, TAP_DEFAULT_CAPACITY_FRAMES, TAP_SAMPLE_RATE, type PairTapHandle } from './tap/pair-tap-handle.js';
import { randomUUID } from 'node:crypto';
import { RecordingFinisher } from './pipeline/recording/recording-finisher.js';
import { validateEndpoint, validateMediaUrl, validateOpenPairRequest } from './worker/validate.js';

export type EngineEvents = {
  /** A pair was closed by the engine itself (worker crash), not by closePair(). */
  pairclosed: [pairId: string, reason: string];
  /** A leg's socket is connected to its peer: the address setRemote gave, or (latched) the source that passed probation. */
  legconnected: [pairId: string, leg: LegName, remote: UdpEndpoint, latched: boolean];
  /** A recorded pair's file is complete (after the pair closed). */
  recording: [pairId: string, summary: RecordingSummary];
  /** A translated pair's transcript (partial or final). */
  transcript: [event: TranscriptEvent];
  /** Anything else a translated direction reports: VAD decisions, marks, provider errors and connection changes, latency. */
  translation: [pairId: string, direction: Direction, event: DirectionEvent];
  shardcrash: [shard: number, error: Error];
  /** A shard's worker is running and takes requests: at start, and again after a crash restarted it. */
  shardready: [shard: number];
  listenererror: [event: string, error: unknown];
};

export interface EngineStats {
  shards: ShardStats[];
  pairs: number;
  sockets: number;
}

export { TAP_DEFAULT_CAPACITY_FRAMES, TAP_SAMPLE_RATE, type PairTapHandle };

interface ShardSlot {
  index: number;
  client: ShardClient;
  task: Promise<unknown>;
}

/** The config with `io` resolved once, here on the main thread: workers are told 'native' or 'dgram'. */
function withResolvedIo(config: EngineConfig): EngineConfig {
  return { ...config, io: resolveEngineIo(config) };
}

/**
 * The media engine, seen from the main thread. Pairs are sharded across a
 * piscina pool of worker threads: each worker runs exactly one long-lived shard
 * task (concurrentTasksPerWorker 1, min = max threads, atomics disabled so the
 * worker's event loop is never parked between tasks) and owns the sockets of
 * its pairs until they close. Control messages travel over a MessagePort per
 * shard. docs/engine-workers.md records why this is sound.
 */
export class MediaEngine extends TypedEmitter<EngineEvents> {
  readonly config: EngineConfig;
  readonly #pool: Piscina;
  readonly #shards: ShardSlot[] = [];
  /** pairId -> shard index; reserved before the worker is asked, so a pairId opens once. */
  readonly #placement = new Map<string, number>();
  readonly #log = logger('engine');
  readonly #recordings: RecordingFinisher;
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(config: EngineConfig) {
    super();
    this.config = config;
    this.#pool = createShardPool(config.workers);
    this.#recordings = new RecordingFinisher(config.recording?.format, this.#log);
  }

  static async start(input: EngineConfigInput | EngineConfig = {}): Promise<MediaEngine> {
    const engine = new MediaEngine(withResolvedIo(parseEngineConfig(input)));
    try {
      await Promise.all(Array.from({ length: engine.config.workers }, (_, i) => engine.#startShard(i)));
    } catch (err) {
      await engine.close();
      throw err;
    }
    engine.#log.info({ workers: engine.config.workers, bind: engine.config.bindAddress, ports: engine.config.portRange, io: engine.config.io }, 'engine started');
    return engine;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The worker threads, for supervision and crash tests. */
  get threads(): readonly import('node:worker_threads').Worker[] {
    return this.#pool.threads;
  }

  get pairCount(): number {
    return this.#placement.size;
  }

  hasPair(pairId: string): boolean {
    return this.#placement.has(pairId);
  }

  shardOf(pairId: string): number | undefined {
    return this.#placement.get(pairId);
  }

  /**
   * Opens a pair on the least loaded shard. RTP legs (the default) answer where Asterisk must
   * send each leg; WebSocket legs are connected afterwards with connectMedia.
   */
  openPair(request: OpenPairRequest & { transport?: 'rtp' }): Promise<RtpPairResult>;
  openPair(request: OpenPairRequest & { transport: 'websocket' }): Promise<WebSocketPairResult>;
  openPair(request: OpenPairRequest): Promise<OpenPairResult>;
  async openPair(request: OpenPairRequest): Promise<OpenPairResult> {
    this.#assertOpen();
    validateOpenPairRequest(request);
    // Settings errors surface here, by key, before a worker is involved.
    if (request.translation !== undefined) parsePairTranslation(request.translation);
    if (request.record === true && this.config.recording === undefined) {
      throw new EngineError('RECORDING_DISABLED', `pair ${request.pairId} asked to be recorded, but the engine has no recording directory`);
    }
    if (this.#placement.has(request.pairId)) {
      throw new EngineError('PAIR_EXISTS', `pair ${request.pairId} is already open`);
    }
    const shard = this.#leastLoadedShard();
    this.#placement.set(request.pairId, shard.index);
    try {
      return await shard.client.request<OpenPairResult>({ type: 'openPair', request });
    } catch (err) {
      if (this.#placement.get(request.pairId) === shard.index) this.#placement.delete(request.pairId);
      if (err instanceof TimeoutError) {
        // The worker may still finish opening: close whatever it opened.
        void shard.client.request({ type: 'closePair', pairId: request.pairId }).catch(() => undefined);
      }
      throw err;
    }
  }

  /**
   * Tells a leg where Asterisk's side is (UNICASTRTP_LOCAL_ADDRESS / PORT).
   * Resolves once the leg's socket is connected there (so the leg hears it and
   * can send to it); the same address again is a no-op.
   */
  async setRemote(pairId: string, leg: LegName, remote: UdpEndpoint): Promise<void> {
    this.#assertOpen();
    if (leg !== 'A' && leg !== 'B') throw new TypeError(`leg must be 'A' or 'B', got ${String(leg)}`);
    validateEndpoint(remote, 'remote');
    await this.#shardFor(pairId).client.request({ type: 'setRemote', pairId, leg, remote });
  }

  /**
   * Connects a WebSocket pair's leg to Asterisk's media channel (`ws://<asterisk http>/media/<MEDIA_WEBSOCKET_CONNECTION_ID>`)
   * and resolves with its MEDIA_START. If that connection ends later, the engine closes the pair (`pairclosed`, reason
   * `media-connection-lost`).
   */
  async connectMedia(pairId: string, leg: LegName, url: string): Promise<MediaStartInfo> {
    this.#assertOpen();
    if (leg !== 'A' && leg !== 'B') throw new TypeError(`leg must be 'A' or 'B', got ${String(leg)}`);
    validateMediaUrl(url);
    // The worker gives up after mediaConnectTimeoutMs; this deadline only catches a worker that does not answer.
    return await this.#shardFor(pairId).client.request<MediaStartInfo>({ type: 'connectMedia', pairId, leg, url }, this.config.mediaConnectTimeoutMs + 1000);
  }

  /** Changes a running pair's translation (languages, provider, mode); null turns it back into a transparent duplex. */
  async setTranslation(pairId: string, translation: PairTranslationInput | null): Promise<void> {
    this.#assertOpen();
    if (translation !== null) parsePairTranslation(translation);
    await this.#shardFor(pairId).client.request({ type: 'setTranslation', pairId, translation });
  }

  /** Drops translated audio queued for playback (`clear`); returns how many directions were cleared. */
  async clearPlayback(pairId: string, direction?: Direction): Promise<number> {
    this.#assertOpen();
    if (direction !== undefined && direction !== 'A->B' && direction !== 'B->A') throw new TypeError(`direction must be 'A->B' or 'B->A', got ${String(direction)}`);
    return await this.#shardFor(pairId).client.request<number>(
      direction === undefined ? { type: 'clearPlayback', pairId } : { type: 'clearPlayback', pairId, direction },
    );
  }

  /**
   * Closes a pair and returns its final stats (every leg's counters at the moment its sockets
   * closed, with the translation's when translated); null if it was not open. Idempotent.
   */
  async closePair(pairId: string): Promise<PairStats | null> {
    if (this.#closed) return null;
    const index = this.#placement.get(pairId);
    if (index === undefined) return null;
    const shard = this.#shards[index];
    this.#placement.delete(pairId);
    if (!shard || shard.client.closed) return null;
    return await shard.client.request<PairStats | null>({ type: 'closePair', pairId });
  }

  /**
   * Taps a pair's audio for a listener: the pair's worker copies `source` (a leg as heard, both mixed, or what a
   * leg is sent) into a shared ring of 20 ms frames at 16 kHz each tick, and the caller drains it
   * (PairTap.reader). The tick never waits for the reader: when it falls `capacityFrames` behind, frames are
   * dropped and counted (reader.dropped). The ring reads closed once the pair closes or the tap is ended.
   */
  async tapPair(pairId: string, source: TapSource, capacityFrames = TAP_DEFAULT_CAPACITY_FRAMES): Promise<PairTapHandle> {
    this.#assertOpen();
    if (!TAP_SOURCES.includes(source)) throw new TypeError(`tap source must be one of ${TAP_SOURCES.join(', ')}, got ${String(source)}`);
    const shard = this.#shardFor(pairId);
    const ring = createPcmRing(TAP_SAMPLE_RATE, TAP_SAMPLE_RATE / 50, capacityFrames);
    const tapId = randomUUID();
    await shard.client.request({ type: 'tap', pairId, tapId, source, ring });
    return pairTapHandle(pairId, source, new PcmRingReader(ring), async () => {
      if (!shard.client.closed) await shard.client.request({ type: 'untap', pairId, tapId }).catch(() => undefined);
    });
  }

  async stats(): Promise<EngineStats> {
    this.#assertOpen();
    const shards = await Promise.all(this.#shards.map((s) => s.client.request<ShardStats>({ type: 'stats' })));
    return {
      shards,
      pairs: shards.reduce((n, s) => n + s.pairs, 0),
      sockets: shards.reduce((n, s) => n + s.sockets, 0),
    };
  }

  /** Closes every pair, then the workers. Idempotent; concurrent calls share one closing. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#shards.map(async (shard) => {
        try {
          // A shard still starting has no pairs; destroy() below ends its thread.
          if (shard.client.ready) await shard.client.request({ type: 'shutdown' }, 2000);
        } catch {
          // A dead or stuck worker is terminated by destroy() below.
        }
        shard.client.close();
      }),
    );
    this.#placement.clear();
    await this.#pool.destroy();
    await this.#recordings.close();
    this.removeAllListeners();
    this.#log.info('engine closed');
  }

  async #startShard(index: number): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const startTimeoutMs = this.config.workerStartTimeoutMs;
    const client = new ShardClient(index, port1, this.config.requestTimeoutMs, (n: ShardNotification) => {
      if (n.kind === 'ready') markReady();
      else if (n.kind === 'pairClosed') this.#onPairClosedByShard(index, n.pairId, n.reason);
      else if (n.kind === 'transcript') this.safeEmit('transcript', n.event);
      else if (n.kind === 'recording') void this.#recordings.finish(n.pairId, n.summary, (summary) => this.safeEmit('recording', n.pairId, summary));
      else if (n.kind === 'legConnected') this.safeEmit('legconnected', n.pairId, n.leg, n.remote, n.latched);
      else this.safeEmit('translation', n.pairId, n.direction, n.event);
    }, startTimeoutMs);
    const input: ShardTaskInput = { shard: index, shardCount: this.config.workers, config: this.config, port: port2 };
    const task = this.#pool.run(input, { transferList: [port2] });
    const slot: ShardSlot = { index, client, task };
    this.#shards[index] = slot;
    task.then(
      () => client.close(),
      (err: unknown) => this.#onShardCrash(slot, err),
    );
    // Starting a worker loads the engine's modules (compiles them, when run from the sources): on a
    // loaded 2-core host that alone took over 5 s, hence its own deadline (workerStartTimeoutMs, 30 s).
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`shard ${index} did not start within ${startTimeoutMs} ms (workerStartTimeoutMs)`)), startTimeoutMs);
    });
    try {
      await Promise.race([ready, timeout, task.then(() => { throw new EngineError('WORKER_CRASHED', `shard ${index} exited during start`); })]);
    } catch (err) {
      // Requests queued for it would otherwise wait out their own deadlines.
      client.close(err instanceof Error ? err : new Error(errorMessage(err)));
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (!this.#closed) this.safeEmit('shardready', index);
  }

  #onShardCrash(slot: ShardSlot, err: unknown): void {
    const error = err instanceof Error ? err : new Error(errorMessage(err));
    slot.client.close(new EngineError('WORKER_CRASHED', `shard ${slot.index} crashed: ${error.message}`));
    if (this.#closed) return;
    this.#log.error({ shard: slot.index, err: error }, 'shard crashed; its pairs are lost');
    for (const [pairId, index] of [...this.#placement]) {
      if (index !== slot.index) continue;
      this.#placement.delete(pairId);
      this.safeEmit('pairclosed', pairId, 'worker-crash');
    }
    this.safeEmit('shardcrash', slot.index, error);
    this.#startShard(slot.index).catch((restartErr: unknown) => {
      this.#log.error({ shard: slot.index, err: restartErr }, 'shard restart failed');
    });
  }

  #onPairClosedByShard(index: number, pairId: string, reason: string): void {
    if (this.#placement.get(pairId) !== index) return;
    this.#placement.delete(pairId);
    this.safeEmit('pairclosed', pairId, reason);
  }

  #leastLoadedShard(): ShardSlot {
    const load = new Array<number>(this.#shards.length).fill(0);
    for (const index of this.#placement.values()) load[index] = (load[index] ?? 0) + 1;
    let best: ShardSlot | undefined;
    for (const shard of this.#shards) {
      if (shard.client.closed) continue;
      if (!best || (load[shard.index] ?? 0) < (load[best.index] ?? 0)) best = shard;
    }
    if (!best) throw new EngineError('WORKER_CRASHED', 'no shard is running');
    return best;
  }

  #shardFor(pairId: string): ShardSlot {
    const index = this.#placement.get(pairId);
    const shard = index === undefined ? undefined : this.#shards[index];
    if (!shard) throw new EngineError('UNKNOWN_PAIR', `no open pair ${pairId}`);
    return shard;
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the engine is closed');
  }
}
