import { rm } from 'node:fs/promises';
import { getHeapStatistics } from 'node:v8';
import { threadId } from 'node:worker_threads';
import { errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { getCodec } from '../codec/index.js';
import { identityStageFactory } from '../pipeline/identity-stage.js';
import type { Direction } from '../pipeline/stage.js';
import { parsePairTranslation, type PairTranslation, type PairTranslationInput } from '../pipeline/translation/config.js';
import { PairTranslator, type PairTranslatorOptions } from '../pipeline/translation/pair-translator.js';
import { ShardVad } from './shard-vad.js';
import { threadCpuMs } from './thread-cpu.js';
import { PairRecorder } from '../pipeline/recording/pair-recorder.js';
import { PairTap, type TapSource } from '../session/pair-tap.js';
import type { PcmRingLayout } from '../tap/pcm-ring.js';
import { EngineError } from '../session/errors.js';
import { MediaPair } from '../session/media-pair.js';
import { DgramLegSocket, type LegSocket } from '../session/leg-socket.js';
import { RtpLeg } from '../session/rtp-leg.js';
import { WebSocketLeg } from '../session/websocket-leg.js';
import type { MediaLeg } from '../session/media-leg.js';
import { resolveEngineIo } from '../config/resolve-io.js';
import { PortAllocator } from '../transport/port-allocator.js';
import type { EngineConfig } from '../config/engine-config.js';
import { PlayoutScheduler } from './playout-scheduler.js';
import { ShardSharedPort } from './shard-shared-port.js';
import { applyThreadPriority, type ThreadPriority } from './thread-priority.js';
import type {
  LegName,
  MediaStartInfo,
  OpenPairRequest,
  OpenPairResult,
  PairStats,
  ShardNotification,
  ShardStats,
} from './protocol.js';
import { validateOpenPairRequest } from './validate.js';

/** Pairs whose counters a stats request gathers between two turns of the event loop. */
const STATS_SLICE_PAIRS = 25;

/**
 * A shard owns the sockets of the pairs assigned to it for their whole life:
 * sockets cannot move between threads, so every packet of a pair is
 * received, processed and sent on this one thread. With `io: 'native'` the
 * RTP legs that are told their peer share one batched port per shard
 * (SharedRtpPort), opened with the first such pair; otherwise (and for
 * latching legs) each leg binds a node:dgram socket of its own.
 */
export class Shard {
  readonly index: number;
  readonly #config: EngineConfig;
  readonly #ports: PortAllocator;
  readonly #scheduler: PlayoutScheduler;
  readonly #pairs = new Map<string, MediaPair>();
  readonly #translators = new Map<string, PairTranslator>();
  readonly #notify: (notification: ShardNotification) => void;
  readonly #vad: ShardVad;
  readonly #opening = new Set<string>();
  readonly #log;
  readonly #priority: ThreadPriority;
  /** How RTP legs reach the network here (the config's `io`, resolved). */
  readonly #io: 'native' | 'dgram';
  /** The shard's shared RTP port (native I/O only). */
  readonly #shared: ShardSharedPort;
  #closed = false;

  constructor(index: number, shardCount: number, config: EngineConfig, notify: (notification: ShardNotification) => void = () => {}) {
    this.index = index;
    this.#config = config;
    this.#notify = notify;
    this.#log = logger('engine.shard', { shard: index });
    this.#io = resolveEngineIo(config);
    this.#vad = new ShardVad(this.#log, this.#config.vad);
    this.#priority = applyThreadPriority(config.workerNice);
    if (this.#priority.error !== undefined) {
      this.#log.warn(
        { requested: this.#priority.requested, applied: this.#priority.applied, err: this.#priority.error },
        'worker priority not raised (grant CAP_SYS_NICE or LimitNICE=, or set workerNice 0 to silence this)',
      );
    }
    this.#ports = new PortAllocator({
      bindAddress: config.bindAddress,
      min: config.portRange.min,
      max: config.portRange.max,
      shard: index,
      shardCount,
      socketBufferBytes: config.socketBufferBytes,
    });
    this.#shared = new ShardSharedPort(this.#ports, config.socketBufferBytes, this.#log);
    this.#scheduler = new PlayoutScheduler({
      slots: config.scheduleSlots,
      onTaskError: (err) => this.#log.error({ err }, 'pair tick failed'),
    });
    this.#scheduler.start();
  }

  get pairCount(): number {
    return this.#pairs.size;
  }

  async openPair(request: OpenPairRequest): Promise<OpenPairResult> {
    validateOpenPairRequest(request);
    const { pairId } = request;
    if (this.#pairs.has(pairId) || this.#opening.has(pairId)) {
      throw new EngineError('PAIR_EXISTS', `pair ${pairId} is already open on shard ${this.index}`);
    }
    const translation = request.translation === undefined ? null : parsePairTranslation(request.translation);
    this.#opening.add(pairId);
    // What this open has taken so far, released (all of it) if a later step fails.
    let socketA: LegSocket | null = null;
    let socketB: LegSocket | null = null;
    let recorder: PairRecorder | null = null;
    let legs: MediaLeg[] = [];
    let session: MediaPair;
    try {
      const transport = request.transport ?? 'rtp';
      // chan_websocket carries slin little-endian; RTP carries it big-endian.
      const codec = getCodec(request.codec ?? this.#config.codec, transport === 'websocket' ? 'little' : 'big');
      const vad = translation !== null && translation.vad.enabled ? await this.#vad.opener() : null;
      // Ports first, the file last: a pair that cannot get its ports never creates one.
      const latch = request.latch ?? this.#config.latch;
      if (transport === 'rtp') {
        if (this.#io === 'native' && !latch) {
          // A latching leg's peer is unknown until it sends, so the shared port could not route to it.
          const shared = await this.#shared.open();
          socketA = shared.openLeg();
          socketB = shared.openLeg();
        } else {
          socketA = new DgramLegSocket(await this.#ports.bind());
          socketB = new DgramLegSocket(await this.#ports.bind());
        }
      }
      if (request.record === true) recorder = await this.#openRecorder(pairId, codec.sampleRate);
      const log = this.#log;
      // Ticks come alignMarginMs after each stream's arrival phase: lateness within it needs no depth.
      const jitter = { ...this.#config.jitter, playoutSlackMs: Math.min(this.#config.alignMarginMs, 19) };
      let legA: MediaLeg;
      let legB: MediaLeg;
      if (socketA === null || socketB === null) {
        const leg = (name: LegName, ext: string): WebSocketLeg =>
          new WebSocketLeg({
            pairId,
            name,
            ext,
            codec,
            jitter,
            connectTimeoutMs: this.#config.mediaConnectTimeoutMs,
            log,
            onLost: (_leg, reason) => this.#onLegLost(pairId, reason),
          });
        legA = leg('A', request.extA);
        legs = [legA];
        legB = leg('B', request.extB);
        legs = [legA, legB];
      } else {
        const probationPackets = this.#config.probationPackets;
        const rtpA = new RtpLeg({ pairId, name: 'A', ext: request.extA, codec, socket: socketA, jitter, latch, probationPackets, log });
        legs = [rtpA];
        const rtpB = new RtpLeg({ pairId, name: 'B', ext: request.extB, codec, socket: socketB, jitter, latch, probationPackets, log });
        legs = [rtpA, rtpB];
        for (const leg of [rtpA, rtpB]) {
          leg.on('connected', (remote, latched) => this.#notify({ kind: 'legConnected', pairId, leg: leg.name, remote, latched }));
        }
        legA = rtpA;
        legB = rtpB;
      }
      const translator =
        translation === null
          ? null
          : this.#newTranslator(pairId, codec.sampleRate, vad, translation);
      session = new MediaPair({
        pairId,
        extA: request.extA,
        extB: request.extB,
        legA,
        legB,
        stageFactory: translator === null ? identityStageFactory : (context) => translator.stageFor(context),
        log,
        planner: this.#scheduler,
        alignMarginMs: this.#config.alignMarginMs,
        recorder,
        onRecordingClosed: (summary) => this.#notify({ kind: 'recording', pairId, summary }),
      });
      if (this.#closed) {
        // The session owns everything now, and closing it completes the recording.
        recorder = null;
        session.close('shard closed');
        throw new EngineError('ENGINE_CLOSED', 'the shard closed while the pair was opening');
      }
      this.#pairs.set(pairId, session);
      if (translator !== null) this.#translators.set(pairId, translator);
      for (const direction of session.directions) this.#scheduler.add(direction);
    } catch (err) {
      // Legs own their sockets once they exist; a socket no leg took is closed here.
      for (const leg of legs) leg.close();
      if (legs.length < 1) socketA?.close();
      if (legs.length < 2) socketB?.close();
      if (recorder !== null) await this.#discardRecording(recorder);
      throw err;
    } finally {
      this.#opening.delete(pairId);
    }
    // Registered first, so closePair (or a shard close) during these connects releases everything.
    try {
      await Promise.all([
        request.remoteA === undefined ? null : session.setRemote('A', request.remoteA),
        request.remoteB === undefined ? null : session.setRemote('B', request.remoteB),
      ]);
    } catch (err) {
      const closed = session.closed;
      this.closePair(pairId, 'connecting to a remote failed');
      if (closed) throw new EngineError('UNKNOWN_PAIR', `pair ${pairId} was closed while it was opening`);
      throw err;
    }
    const { legA, legB } = session;
    const recordingPath = session.recordingPath;
    const recording = recordingPath !== null ? { recordingPath } : {};
    const latch = request.latch ?? this.#config.latch;
    if (legA instanceof RtpLeg && legB instanceof RtpLeg) {
      this.#log.info(
        { pairId, extA: request.extA, extB: request.extB, codec: legA.codec.name, legA: legA.local, legB: legB.local, latch, translation: describe(translation) },
        'pair opened',
      );
      return { pairId, shard: this.index, transport: 'rtp', legA: legA.local, legB: legB.local, ...recording };
    }
    this.#log.info({ pairId, extA: request.extA, extB: request.extB, codec: legA.codec.name, transport: legA.transport, translation: describe(translation) }, 'pair opened');
    return { pairId, shard: this.index, transport: 'websocket', ...recording };
  }

  /**
   * Points a leg at Asterisk's side; resolves once its socket is connected there.
   * A pair closed meanwhile is UNKNOWN_PAIR, as if the request had come a moment later.
   */
  async setRemote(pairId: string, leg: 'A' | 'B', remote: { address: string; port: number }): Promise<void> {
    const session = this.#require(pairId);
    try {
      await session.setRemote(leg, remote);
    } catch (err) {
      if (session.closed) throw new EngineError('UNKNOWN_PAIR', `pair ${pairId} closed while leg ${leg} was connecting`);
      throw err;
    }
  }

  /** A recording whose pair never opened: closed, and its (empty) file removed. */
  async #discardRecording(recorder: PairRecorder): Promise<void> {
    try {
      await recorder.close();
      await rm(recorder.path, { force: true });
    } catch (err) {
      this.#log.warn({ pairId: recorder.pairId, path: recorder.path, err: errorMessage(err) }, 'discarding the recording of a pair that did not open failed');
    }
  }

  /** Connects a WebSocket leg to Asterisk's media channel; resolves with its MEDIA_START. */
  async connectMedia(pairId: string, leg: LegName, url: string): Promise<MediaStartInfo> {
    return await this.#require(pairId).connectMedia(leg, url);
  }

  /** A WebSocket leg's connection ended on Asterisk's side: the pair cannot carry audio any more. */
  #onLegLost(pairId: string, reason: string): void {
    if (!this.closePair(pairId, reason)) return;
    this.#notify({ kind: 'pairClosed', pairId, reason: 'media-connection-lost' });
  }

  /** A pair's translator, reporting its transcripts and events to the engine over the port. */
  #newTranslator(pairId: string, sampleRate: number, vad: PairTranslatorOptions['vad'], translation: PairTranslation): PairTranslator {
    return new PairTranslator(
      {
        pairId,
        sampleRate: sampleRate === 16000 ? 16000 : 8000,
        vad,
        onTranscript: (event) => this.#notify({ kind: 'transcript', event }),
        onEvent: (direction, event) => this.#notify({ kind: 'translationEvent', pairId, direction, event }),
        log: this.#log,
      },
      translation,
    );
  }

  async #openRecorder(pairId: string, sampleRate: number): Promise<PairRecorder> {
    const settings = this.#config.recording;
    if (settings === undefined) throw new EngineError('RECORDING_DISABLED', `pair ${pairId} asked to be recorded, but the engine has no recording directory`);
    return await PairRecorder.open({ ...settings, pairId, sampleRate: sampleRate === 16000 ? 16000 : 8000 });
  }

  /**
   * New translation settings for a running pair (null: identity). Resolves once they are accepted: each
   * direction's stage is rebuilt with them at that direction's next pause (MediaPair.replaceStages), so an
   * utterance in progress finishes in the old settings.
   */
  async setTranslation(pairId: string, input: PairTranslationInput | null): Promise<void> {
    const session = this.#require(pairId);
    const translation = input === null ? null : parsePairTranslation(input);
    const vad = translation !== null && translation.vad.enabled ? await this.#vad.opener() : null;
    if (session.closed) throw new EngineError('UNKNOWN_PAIR', `pair ${pairId} closed while its translation was changing`);
    let translator = this.#translators.get(pairId);
    if (translator === undefined) {
      if (translation === null) return;
      translator = this.#newTranslator(pairId, session.codec.sampleRate, vad, translation);
      this.#translators.set(pairId, translator);
    } else {
      translator.translation = translation;
    }
    const current = translator;
    session.replaceStages((context) => current.stageFor(context));
    if (translation === null) this.#translators.delete(pairId);
    this.#log.info({ pairId, translation: describe(translation) }, 'pair translation changed: each direction takes it at its next pause');
  }

  /** Drops queued translated audio; returns how many directions were cleared (0 for an untranslated pair). */
  clearPlayback(pairId: string, direction?: Direction): number {
    this.#require(pairId);
    return this.#translators.get(pairId)?.clear(direction) ?? 0;
  }

  /**
   * Closes a pair and returns its final stats, taken on this thread just before its sockets
   * close (so nothing is lost between the last periodic stats and the close: a call record
   * counts every packet); null when the pair is not (or no longer) open here.
   */
  closePair(pairId: string, reason: string): PairStats | null {
    const session = this.#pairs.get(pairId);
    if (!session) return null;
    for (const direction of session.directions) this.#scheduler.remove(direction);
    const final = this.#pairStats(session);
    this.#pairs.delete(pairId);
    this.#translators.delete(pairId);
    session.close(reason);
    return final;
  }

  stats(): ShardStats {
    return this.#statsWith([...this.#pairs.values()].map((p) => this.#pairStats(p)));
  }

  /**
   * The same counters, gathered STATS_SLICE_PAIRS pairs at a time with the event loop free in
   * between: a stats request (the console and /metrics take one a second) then never holds this
   * worker's playout ticks back by more than one slice's work, however many pairs it carries.
   * A pair closed meanwhile is left out (its final counters went with its closePair).
   */
  async statsInSlices(): Promise<ShardStats> {
    const pairs = [...this.#pairs.values()];
    const pairStats: PairStats[] = [];
    for (let i = 0; i < pairs.length; i += STATS_SLICE_PAIRS) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      for (let j = i; j < Math.min(i + STATS_SLICE_PAIRS, pairs.length); j++) {
        const pair = pairs[j]!;
        if (this.#pairs.get(pair.pairId) === pair) pairStats.push(this.#pairStats(pair));
      }
    }
    return this.#statsWith(pairStats);
  }

  #statsWith(pairStats: PairStats[]): ShardStats {
    const s = this.#scheduler.stats;
    return {
      shard: this.index,
      threadId,
      heapUsedBytes: getHeapStatistics().used_heap_size,
      cpuMs: threadCpuMs(),
      priority: { ...this.#priority },
      pairs: this.#pairs.size,
      sockets: [...this.#pairs.values()].reduce((n, p) => n + p.openTransports, 0),
      ticks: s.ticks,
      lateTicks: s.lateTicks,
      maxTickLatenessMs: s.maxLatenessMs,
      skippedTicks: s.skippedTicks,
      io: this.#io,
      sharedPort: this.#shared.stats(),
      pairStats,
      vad: this.#vad.stats(),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#scheduler.stop();
    for (const pairId of [...this.#pairs.keys()]) this.closePair(pairId, 'shard closed');
    this.#shared.close();
    this.#vad.close();
  }

  /** A pair's counters, with its translation's settings summary and stage counters when it is translated. */
  #pairStats(session: MediaPair): PairStats {
    const stats = session.stats();
    const translator = this.#translators.get(session.pairId);
    const translation = translator?.translation;
    if (translator && translation) {
      stats.translation = {
        languages: { ...translation.languages },
        provider: translation.provider.kind,
        directions: [...translation.directions],
        stages: translator.stats(),
      };
    }
    return stats;
  }

  /** Starts copying a pair's audio into a listener's ring (PairTap); the tap ends with the pair. */
  tap(pairId: string, tapId: string, source: TapSource, ring: PcmRingLayout): void {
    this.#require(pairId).addTap(new PairTap(tapId, source, ring));
  }

  untap(pairId: string, tapId: string): boolean {
    return this.#pairs.get(pairId)?.removeTap(tapId) ?? false;
  }

  #require(pairId: string): MediaPair {
    const session = this.#pairs.get(pairId);
    if (!session) throw new EngineError('UNKNOWN_PAIR', `no open pair ${pairId} on shard ${this.index}`);
    return session;
  }
}

/** What a log line says about a pair's translation: never the provider's token or key. */
function describe(translation: PairTranslation | null): object | null {
  if (translation === null) return null;
  return { provider: translation.provider.kind, languages: translation.languages, directions: translation.directions, vad: translation.vad.enabled };
}

