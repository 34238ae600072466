/**
 * The reference service for the Tandem media streaming protocol.
 *
 * IT RECOGNIZES NOTHING AND TRANSLATES NOTHING. It proves the loop: it finds
 * utterances from the client's `speech` hints (Tandem's VAD) or, without
 * them, by energy alone, answers each with a transcript and a
 * "translation" that only name the utterance's number and duration
 * ("utterance 3, 1.2 s"), speaks that text with espeak-ng in the target
 * language, and sends the audio back followed by a mark. Tests and demos use
 * it; it records what each session received so they can assert on it.
 *
 * Under load (hundreds of sessions) the answers repeat: the duration is
 * rounded to 100 ms, so the spoken audio is kept in a bounded LRU cache keyed
 * by (text, voice, rate), and synthesis runs through one EspeakSynthesizer
 * whose concurrency is bounded, instead of a process per utterance.
 */
import type { RawData, WebSocket } from 'ws';
import { ConfigError, errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { EnergyUtteranceDetector, type Utterance } from '../../engine/src/pipeline/streaming/energy-detector.js';
import { AnswerCache } from './answer-cache.js';
import type { ReferenceSessionRecord, ReferenceUtterance } from './reference-records.js';
import { StallGate } from './stall-gate.js';
import { EspeakSynthesizer, type EspeakSynthesizerOptions, type EspeakSynthesizerStats } from '../../engine/src/pipeline/providers/espeak-synthesizer.js';
import { messageBytes } from '../../engine/src/pipeline/providers/provider-stage.js';
import { WsDoubleServer, guardSessionMessages, sendIfOpen } from '../doubles/ws-double-server.js';
import {
  CloseCode,
  PROTOCOL_VERSION,
  FEATURE_PING,
  encodeServiceMessage,
  tryParseClientMessage,
  type StartMessage,
} from '../../engine/src/pipeline/streaming/protocol.js';

export interface ReferenceServiceOptions {
  host?: string;
  port?: number;
  /** When set, the upgrade needs `Authorization: Bearer <token>` (else HTTP 401). */
  token?: string;
  /** espeak-ng voice for every session; default: the session's targetLanguage. */
  espeakVoice?: string;
  /** Energy detector threshold (RMS, int16 scale). */
  thresholdRms?: number;
  hangoverMs?: number;
  /** A session that sends no start within this is closed with 4002. */
  startTimeoutMs?: number;
  /** Audio is sent back in messages of this many ms. */
  chunkMs?: number;
  /** Synthesized answers kept, least recently used evicted first; 0 disables the cache. Default 256. */
  cacheEntries?: number;
  /**
   * Optional protocol features listed in `started.features`; default `['ping']` (the liveness
   * check, answered from the session's message logic, so the stall gate holds pongs back too).
   * `[]` plays a service that predates them.
   */
  features?: string[];
  /** The espeak-ng synthesizer's bounds (default here: 4 at once, 1024 queued). */
  synthesizer?: EspeakSynthesizerOptions;
}

/** What the service has done so far, for load runs. */
export interface ReferenceServiceStats {
  sessions: number;
  liveSessions: number;
  utterances: number;
  /** Answers whose audio was sent (not cancelled by clear or a closed session). */
  answersSent: number;
  synthesisFailures: number;
  cache: { capacity: number; entries: number; hits: number; misses: number };
  synthesizer: EspeakSynthesizerStats;
}

/** The answer to utterance n: its number and its duration rounded to 100 ms, so texts repeat across sessions. */
export function referenceAnswerText(n: number, durationMs: number): string {
  return `utterance ${n}, ${(Math.round(durationMs / 100) / 10).toFixed(1)} s`;
}

export type { ReferenceSessionRecord, ReferenceUtterance } from './reference-records.js';
export type { StallReport } from './stall-gate.js';

const DEFAULT_CACHE_ENTRIES = 256;

export type ReferenceServiceEvents = {
  session: [record: ReferenceSessionRecord];
  utterance: [record: ReferenceSessionRecord, utterance: ReferenceUtterance];
  markAck: [record: ReferenceSessionRecord, name: string];
  rejected: [reason: 'unauthorized'];
  listenererror: [event: string, error: unknown];
};

const log = logger('pipeline.reference-service');

export class ReferenceService extends WsDoubleServer<Session, ReferenceServiceEvents> {
  readonly sessions: ReferenceSessionRecord[] = [];
  /** Stalls every session on demand (reads audio, sends nothing): a provider-stall fault. */
  readonly stallGate = new StallGate();
  readonly #options: ReferenceServiceOptions;
  readonly #synth: EspeakSynthesizer;
  readonly #cache: AnswerCache;
  readonly #counts = { utterances: 0, answersSent: 0, synthesisFailures: 0 };
  #nextId = 1;

  private constructor(options: ReferenceServiceOptions) {
    super({ bearer: options.token, maxPayload: 1024 * 1024, path: '/', name: 'reference service', log });
    this.#options = options;
    const voice = options.espeakVoice;
    // A fixed voice is asked for by its own name, which the override maps to itself.
    this.#synth = new EspeakSynthesizer({
      maxQueued: 1024,
      ...options.synthesizer,
      ...(voice !== undefined ? { voices: { ...options.synthesizer?.voices, [voice.toLowerCase()]: voice } } : {}),
    });
    this.#cache = new AnswerCache(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
  }

  /** Listens on host:port (default 127.0.0.1, an ephemeral port). */
  static async start(options: ReferenceServiceOptions = {}): Promise<ReferenceService> {
    const entries = options.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
    if (!Number.isInteger(entries) || entries < 0) throw new ConfigError('cacheEntries', `must be an integer ≥ 0, got ${entries}`);
    const service = new ReferenceService(options);
    try {
      await service.listen(options.host, options.port);
    } catch (err) {
      await service.close();
      throw err;
    }
    log.info({ url: service.url }, 'reference service listening');
    return service;
  }

  stats(): ReferenceServiceStats {
    return {
      sessions: this.sessions.length,
      liveSessions: this.liveSessions,
      ...this.#counts,
      cache: { capacity: this.#cache.capacity, entries: this.#cache.size, hits: this.#cache.hits, misses: this.#cache.misses },
      synthesizer: this.#synth.stats(),
    };
  }

  /** Closes every session, the server and every socket, and stops synthesis. Idempotent. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    await this.#synth.close();
    this.#cache.clear();
  }

  /** @internal a session's answer audio: little-endian s16 PCM at `sampleRate`, from the cache when the same text was spoken before. */
  answerAudio(text: string, language: string, sampleRate: 8000 | 16000): Promise<Buffer> {
    const fixed = this.#options.espeakVoice;
    const asked = fixed ?? language;
    return this.#synth.voiceFor(asked).then((voice) =>
      this.#cache.get(`${voice}\u0000${sampleRate}\u0000${text}`, async () => {
        const pcm = await this.#synth.synthesize(text, { language: asked, sampleRate });
        const bytes = Buffer.allocUnsafe(pcm.length * 2);
        for (let i = 0; i < pcm.length; i++) bytes.writeInt16LE(pcm[i]!, 2 * i);
        return bytes;
      }),
    );
  }

  /** @internal */
  count(what: 'utterances' | 'answersSent' | 'synthesisFailures'): void {
    this.#counts[what]++;
  }

  protected override rejected(): void {
    this.safeEmit('rejected', 'unauthorized');
  }

  protected accept(ws: WebSocket): Session {
    const record: ReferenceSessionRecord = {
      id: `s${this.#nextId++}`,
      start: null,
      pairId: null,
      srcExt: null,
      direction: null,
      bytesReceived: 0,
      speechHints: 0,
      utterances: [],
      marksAcked: [],
      clears: 0,
      pings: 0,
      stopped: false,
      protocolErrors: [],
      closed: false,
    };
    this.sessions.push(record);
    return new Session(ws, record, this.#options, this);
  }

  /** @internal the session's way to report. */
  notify<K extends 'session' | 'utterance' | 'markAck'>(event: K, ...args: ReferenceServiceEvents[K]): void {
    this.safeEmit(event, ...args);
  }
}

/** One connection: start handshake, utterance detection, answers in order. */
class Session {
  readonly #ws: WebSocket;
  readonly #record: ReferenceSessionRecord;
  readonly #options: ReferenceServiceOptions;
  readonly #service: ReferenceService;
  #detector: EnergyUtteranceDetector | null = null;
  /** Once the client sends `speech` hints, its VAD bounds utterances and the energy detector is ignored. */
  #clientVad = false;
  #speechStartMs: number | null = null;
  #start: StartMessage | null = null;
  #startTimer: NodeJS.Timeout | null;
  #samples = new Int16Array(0);
  #generation = 0; // bumped by clear: answers of an older generation are not sent
  #answers: Promise<void> = Promise.resolve();
  #disposed = false;

  constructor(ws: WebSocket, record: ReferenceSessionRecord, options: ReferenceServiceOptions, service: ReferenceService) {
    this.#ws = ws;
    this.#record = record;
    this.#options = options;
    this.#service = service;
    this.#startTimer = setTimeout(() => {
      this.#fail('timeout', 'no start message', CloseCode.timeout);
    }, options.startTimeoutMs ?? 5000);
    guardSessionMessages(
      ws,
      { id: record.id, log, label: 'reference session' },
      (data, isBinary) => (isBinary ? this.#onAudio(data) : this.#onText(data)),
      () => this.#fail('internal', 'internal error', CloseCode.internalError),
    );
  }

  terminate(): void {
    this.#ws.terminate();
  }

  dispose(): void {
    this.#disposed = true;
    this.#record.closed = true;
    if (this.#startTimer) clearTimeout(this.#startTimer);
    this.#startTimer = null;
  }

  #onText(data: RawData): void {
    const parsed = tryParseClientMessage(data as Buffer);
    if (!parsed.ok) {
      this.#record.protocolErrors.push(parsed.error.code);
      if (parsed.error.code === 'unsupported_protocol') {
        this.#fail(parsed.error.code, parsed.error.message, CloseCode.unsupportedProtocol);
      } else if (this.#start === null) {
        this.#fail(parsed.error.code, parsed.error.message, CloseCode.protocolError);
      } else {
        this.#send({ event: 'error', code: parsed.error.code, message: parsed.error.message });
      }
      return;
    }
    const msg = parsed.message;
    switch (msg.event) {
      case 'start':
        if (this.#start !== null) {
          this.#send({ event: 'error', code: 'already_started', message: 'start was already received' });
          return;
        }
        this.#onStart(msg);
        break;
      case 'stop':
        this.#record.stopped = true;
        this.#detector?.finish((u) => {
          if (!this.#clientVad) this.#onUtterance(u);
        });
        // Answers already being synthesized are sent before the close.
        void this.#answers.then(() => this.#ws.close(CloseCode.normal, 'stopped'));
        break;
      case 'clear':
        this.#record.clears++;
        this.#generation++;
        break;
      case 'mark':
        this.#record.marksAcked.push(msg.name);
        this.#service.notify('markAck', this.#record, msg.name);
        break;
      case 'speech':
        this.#onSpeechHint(msg.state, msg.atMs);
        break;
      case 'ping':
        this.#record.pings++;
        this.#send({ event: 'pong', id: msg.id });
        break;
    }
  }

  #onStart(start: StartMessage): void {
    if (this.#startTimer) clearTimeout(this.#startTimer);
    this.#startTimer = null;
    this.#start = start;
    Object.assign(this.#record, { start, pairId: start.pairId, srcExt: start.srcExt, direction: start.direction });
    this.#detector = new EnergyUtteranceDetector({
      sampleRate: start.sampleRate,
      ...(this.#options.thresholdRms !== undefined ? { thresholdRms: this.#options.thresholdRms } : {}),
      ...(this.#options.hangoverMs !== undefined ? { hangoverMs: this.#options.hangoverMs } : {}),
    });
    const features = this.#options.features ?? [FEATURE_PING];
    this.#send({ event: 'started', protocol: PROTOCOL_VERSION, sessionId: this.#record.id, ...(features.length > 0 ? { features } : {}) });
    log.info({ session: this.#record.id, pairId: start.pairId, srcExt: start.srcExt, direction: start.direction }, 'reference session started');
    this.#service.notify('session', this.#record);
  }

  #onAudio(data: RawData): void {
    if (this.#start === null || this.#detector === null) {
      this.#record.protocolErrors.push('unexpected_binary');
      this.#fail('unexpected_binary', 'audio before start', CloseCode.protocolError);
      return;
    }
    const buf = messageBytes(data);
    if (buf.length % 2 !== 0) {
      this.#record.protocolErrors.push('odd_length_audio');
      this.#send({ event: 'error', code: 'odd_length_audio', message: `audio message of ${buf.length} bytes` });
      return;
    }
    this.#record.bytesReceived += buf.length;
    this.#service.stallGate.audio(this.#record.id, buf.length);
    // Once the client's VAD bounds utterances, the energy detector's answer is ignored: skip its work.
    if (this.#clientVad) return;
    const n = buf.length >> 1;
    if (this.#samples.length < n) this.#samples = new Int16Array(n);
    for (let i = 0; i < n; i++) this.#samples[i] = buf.readInt16LE(2 * i);
    this.#detector.push(this.#samples, n, (u) => {
      if (!this.#clientVad) this.#onUtterance(u);
    });
  }

  #onSpeechHint(state: 'start' | 'end', atMs: number): void {
    if (this.#start === null) return;
    this.#clientVad = true;
    this.#record.speechHints++;
    if (state === 'start') {
      this.#speechStartMs = atMs;
    } else if (this.#speechStartMs !== null && atMs >= this.#speechStartMs) {
      const startMs = this.#speechStartMs;
      this.#speechStartMs = null;
      this.#onUtterance({ startMs, endMs: atMs });
    }
  }

  #onUtterance(u: Utterance): void {
    const start = this.#start;
    if (start === null) return;
    const n = this.#record.utterances.length + 1;
    const text = referenceAnswerText(n, u.endMs - u.startMs);
    const utterance: ReferenceUtterance = { n, startMs: u.startMs, endMs: u.endMs, text, audioBytes: 0 };
    this.#record.utterances.push(utterance);
    const utteranceId = `u${n}`;
    this.#send({ event: 'transcript', utteranceId, text, final: true, startMs: u.startMs, endMs: u.endMs, language: start.sourceLanguage });
    this.#send({ event: 'translation', utteranceId, text, language: start.targetLanguage, final: true });
    this.#service.count('utterances');
    this.#service.notify('utterance', this.#record, utterance);
    const generation = this.#generation;
    // Chained, so answers go out in utterance order even when synthesis times vary.
    this.#answers = this.#answers.then(() => this.#speak(utterance, start, generation));
  }

  async #speak(utterance: ReferenceUtterance, start: StartMessage, generation: number): Promise<void> {
    let pcm: Buffer;
    try {
      pcm = await this.#service.answerAudio(utterance.text, start.targetLanguage.toLowerCase(), start.sampleRate);
    } catch (err) {
      this.#service.count('synthesisFailures');
      this.#send({ event: 'error', code: 'synthesis_failed', message: errorMessage(err) });
      return;
    }
    if (this.#disposed || generation !== this.#generation) return;
    const chunkBytes = Math.max(2, Math.round(((this.#options.chunkMs ?? 200) * start.sampleRate) / 1000) * 2);
    for (let p = 0; p < pcm.length; p += chunkBytes) {
      this.#sendBinary(pcm.subarray(p, Math.min(pcm.length, p + chunkBytes)));
    }
    utterance.audioBytes = pcm.length;
    this.#service.count('answersSent');
    this.#send({ event: 'mark', name: `utterance-${utterance.n}` });
  }

  #send(message: Parameters<typeof encodeServiceMessage>[0]): void {
    if (!this.#disposed && this.#service.stallGate.maySend(this.#record.id)) sendIfOpen(this.#ws, encodeServiceMessage(message));
  }

  #sendBinary(pcm: Buffer): void {
    if (!this.#disposed && this.#service.stallGate.maySend(this.#record.id)) sendIfOpen(this.#ws, pcm, true);
  }

  #fail(code: string, message: string, closeCode: number): void {
    this.#send({ event: 'error', code, message });
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(closeCode, code.slice(0, 100));
  }
}
