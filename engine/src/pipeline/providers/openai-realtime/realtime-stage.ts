/**
 * A pipeline stage that runs one direction of a pair through an
 * OpenAI-Realtime-compatible speech-to-speech session (protocol.ts says which
 * documents it follows; docs/openai-realtime-provider.md what goes over the
 * wire) and plays back the interpreted speech.
 *
 * The tick contract, the outbound gate, playback and error counting are
 * ProviderStage's (../provider-stage.ts), shared with StreamingStage; this
 * module is the protocol. Outbound audio is resampled to 24 kHz and
 * base64-encoded into `input_audio_buffer.append`; inbound audio deltas are
 * decoded into the playback queue (at 24 kHz) and resampled to the leg's rate
 * as they play. Connecting, reconnecting with backoff, the session-start
 * deadline and keepalive run on their own timers; nothing here reads the wall
 * clock.
 *
 * Turn taking: with `turnDetection: 'server_vad'` the service finds the ends
 * of utterances and answers each by itself; with `'client'` Tandem's own VAD
 * calls speechStarted()/speechEnded(), and speechEnded() commits the input
 * buffer and asks for a response. Either way, the speaker starting again
 * (`input_audio_buffer.speech_started`, or speechStarted()) interrupts
 * playback when `interruptOnSpeech` is on, as does flush().
 *
 * One instance = one connection = one direction of one pair. After close(),
 * process() returns null and flush() does nothing; no event is emitted.
 *
 * Beside it: session-book.ts (what one session remembers about items and
 * responses), response-scheduler.ts (one response at a time) and
 * realtime-stats.ts (its counters).
 */
import { WebSocket, type RawData } from 'ws';
import { Upsampler16to24, Upsampler8to24 } from '../../../codec/resample-24k.js';
import { logger } from '../../../../../common/src/logger.js';
import { parseConfig } from '../../../../../common/src/parse-config.js';
import type { MediaFrame, StageContext } from '../../stage.js';
import { MAX_FRAME_SAMPLES, ProviderStage, writeS16LE, type ProviderStageEvents } from '../provider-stage.js';
import { pickWsConnectionSettings, redactUrl } from '../ws-connection.js';
import {
  OpenAiRealtimeStageOptionsSchema,
  from24kConverter,
  isLoopback,
  sessionConfig,
  withModel,
  type OpenAiRealtimeSettings as Settings,
  type OpenAiRealtimeStageOptions,
} from './realtime-options.js';
import {
  MIN_COMMIT_MS,
  REALTIME_SAMPLE_RATE,
  appendEventJson,
  decodeBase64Audio,
  encodeClientEvent,
  tryParseServerEvent,
  type ClientEventInput,
  type ServerEvent,
} from './protocol.js';
import { newRealtimeCounters, type OpenAiRealtimeStageStats, type RealtimeCounters } from './realtime-stats.js';
import { ResponseScheduler } from './response-scheduler.js';
import { RealtimeSessionBook, rememberBounded, type ResponseState } from './session-book.js';

export { OpenAiRealtimeStageOptionsSchema, type OpenAiRealtimeStageOptions } from './realtime-options.js';
export type { OpenAiRealtimeStageStats } from './realtime-stats.js';

/**
 * The same events, with the same payloads, as StreamingStage. `started`:
 * session.created arrived. `transcript`: what the speaker said, partials then
 * one final per utterance. `translation`: the spoken response's transcript.
 * `mark`: `response:<response_id>`, every sample of that response played (or
 * cleared/dropped). `audio`: samples at 24 kHz.
 */
export type OpenAiRealtimeStageEvents = ProviderStageEvents;

export class OpenAiRealtimeStage extends ProviderStage {
  readonly #settings: Settings;
  #sessionTimer: NodeJS.Timeout | null = null;

  // Outbound: frame → 24 kHz → bytes → base64.
  readonly #up8 = new Upsampler8to24();
  readonly #up16 = new Upsampler16to24();
  readonly #zeros = new Int16Array(MAX_FRAME_SAMPLES);
  #conv = new Int16Array(3 * MAX_FRAME_SAMPLES);
  #bytes = Buffer.alloc(6 * MAX_FRAME_SAMPLES);
  /** 24 kHz samples sent since the stage started: the service's clock, continued across sessions. */
  #sentSamples = 0;

  // Per-session state (reset on every connect).
  #sessionStarted = false;
  #samplesSinceCommit = 0;
  #commitSeq = 0;
  readonly #book = new RealtimeSessionBook();
  readonly #responseTurns = new ResponseScheduler((event) => this.#sendEvent(event));
  #turnStartMs: number | null = null;
  #lastTurnEndMs = 0;

  readonly #stats: RealtimeCounters = newRealtimeCounters();

  /** Validates options (ConfigError naming the bad key) and starts connecting at once. */
  constructor(context: StageContext, options: OpenAiRealtimeStageOptions) {
    const s = parseConfig(OpenAiRealtimeStageOptionsSchema, options, 'openaiRealtime');
    const url = withModel(s.url, s.model);
    super({
      context,
      log: logger('pipeline.openai-realtime', { pairId: context.pairId, direction: context.direction }),
      name: 'openai realtime',
      queueSamples: Math.ceil(s.maxQueueSeconds * REALTIME_SAMPLE_RATE),
      converter: from24kConverter(),
      initialRate: s.outputSampleRate,
      mode: s.mode,
      duckGain: s.duckGain,
      maxBufferedBytes: s.maxBufferedBytes,
      connection: { url, token: s.apiKey, ...pickWsConnectionSettings(s), attemptGoal: 'session' },
    });
    this.#settings = s;
    if (s.apiKey !== undefined && url.startsWith('ws://') && !isLoopback(url)) {
      this.log.warn({ url: redactUrl(url) }, 'API key would travel unencrypted (ws:// to a non-loopback host)');
    }
    this.startConnecting();
  }

  /** A snapshot of the counters. */
  stats(): OpenAiRealtimeStageStats {
    return { ...this.baseStats(), ...this.#stats, socketBufferedBytes: this.conn.bufferedAmount };
  }

  protected sendFrame(frame: MediaFrame): void {
    if (frame.samples > MAX_FRAME_SAMPLES) throw new RangeError(`frame of ${frame.samples} samples exceeds ${MAX_FRAME_SAMPLES}`);
    if (frame.status !== 'silence') this.#send(frame, frame.pcm);
    else if (this.#settings.sendSilence) this.#send(frame, this.#zeros);
  }

  /** A response is in progress or asked for on the open session (SpeechStage.answering); a lost session owes nothing. */
  answering(): boolean {
    return !this.closed && this.conn.open && this.#responseTurns.busy;
  }

  /** Drops queued playback and cancels the response in progress (the listener started talking). */
  flush(): void {
    if (this.closed) return;
    this.#interrupt();
  }

  /**
   * Client turn detection: the speaker started talking at `atMs` (the caller's
   * clock, used as the transcript's startMs). Interrupts playback when
   * interruptOnSpeech is on. Ignored in server_vad mode and after close().
   */
  speechStarted(atMs: number): void {
    if (this.closed || this.#settings.turnDetection !== 'client') return;
    this.#turnStartMs = atMs;
    if (this.#settings.interruptOnSpeech && this.#interrupt()) this.#stats.bargeIns++;
  }

  /**
   * Client turn detection: the speaker stopped at `atMs`. Commits the input
   * buffer and asks for a response (deferred until the response in progress is
   * done: the service runs one at a time). Returns whether it committed: not in
   * server_vad mode, while disconnected, or with under 100 ms of audio since
   * the last commit (the service would refuse it).
   */
  speechEnded(atMs: number): boolean {
    if (this.closed || this.#settings.turnDetection !== 'client') return false;
    const startMs = this.#turnStartMs ?? this.#lastTurnEndMs;
    this.#turnStartMs = null;
    this.#lastTurnEndMs = atMs;
    if (!this.conn.open || (this.#samplesSinceCommit * 1000) / REALTIME_SAMPLE_RATE < MIN_COMMIT_MS) {
      this.#stats.commitsSkipped++;
      return false;
    }
    const eventId = `tandem_commit_${++this.#commitSeq}`;
    this.#sendEvent({ type: 'input_audio_buffer.commit', event_id: eventId });
    this.#samplesSinceCommit = 0;
    this.#stats.commits++;
    this.#book.addPendingTurn({ eventId, startMs, endMs: atMs });
    this.#responseTurns.request();
    return true;
  }

  /** Closes the socket and cancels timers; no event is emitted afterwards. Idempotent. */
  close(): void {
    if (!this.beginClose()) return;
    this.#clearSessionTimer();
    this.conn.close(1000, 'closed');
    this.log.info({ stats: this.stats() }, 'openai realtime stage closed');
  }

  // ---- outbound ----

  #send(frame: MediaFrame, pcm: Int16Array): void {
    const ws = this.writableSocket();
    if (ws === null) return;
    const resampler = frame.sampleRate === 8000 ? this.#up8 : this.#up16;
    const samples = resampler.process(pcm, frame.samples, this.#conv);
    writeS16LE(this.#conv, samples, this.#bytes);
    ws.send(appendEventJson(this.#bytes.toString('base64', 0, samples * 2)));
    this.#sentSamples += samples;
    this.#samplesSinceCommit += samples;
    this.frameSent(samples * 2);
  }

  #sendEvent(event: ClientEventInput): void {
    const ws = this.conn.socket;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return;
    ws.send(encodeClientEvent(event));
  }

  /** Drops queued playback (its marks fire) and cancels the response still being produced. Returns whether there was anything to stop. */
  #interrupt(): boolean {
    const cleared = this.queue.clear();
    this.playbackAdvanced();
    const id = this.#responseTurns.activeResponseId;
    if (id !== null && !this.#book.cancelled.has(id)) {
      rememberBounded(this.#book.cancelled, id);
      this.#stats.responsesCancelled++;
      this.#sendEvent({ type: 'response.cancel', response_id: id });
      return true;
    }
    return cleared > 0;
  }

  // ---- playback ----

  /** Emits every `response:<id>` mark whose audio has been played. */
  protected playbackAdvanced(): void {
    for (let name = this.queue.takeReachedMark(); name !== undefined; name = this.queue.takeReachedMark()) {
      this.#stats.marksEmitted++;
      this.safeEmit('mark', name);
    }
  }

  // ---- connection ----

  protected onOpen(ws: WebSocket): void {
    this.counts.connects++;
    this.#resetSession();
    // Sent at once: the service applies it before the audio that follows on the same socket.
    ws.send(encodeClientEvent({ type: 'session.update', session: sessionConfig(this.#settings) }));
    this.#sessionTimer = setTimeout(() => {
      this.#sessionTimer = null;
      this.reportError({ code: 'connect_failed', message: `no session.created within ${this.#settings.sessionTimeoutMs} ms` });
      ws.terminate();
    }, this.#settings.sessionTimeoutMs);
    this.safeEmit('connected');
  }

  protected connectionLost(): boolean {
    this.#clearSessionTimer();
    // A session that never started counts as a failed attempt, so a service that accepts and hangs up backs off.
    const failed = !this.#sessionStarted;
    this.#sessionStarted = false;
    return failed;
  }

  #resetSession(): void {
    this.#sessionStarted = false;
    this.#samplesSinceCommit = 0;
    this.#responseTurns.reset();
    this.#book.reset(this.#sentSamples);
  }

  #clearSessionTimer(): void {
    if (this.#sessionTimer !== null) clearTimeout(this.#sessionTimer);
    this.#sessionTimer = null;
  }

  // ---- inbound ----

  protected onBinary(): void {
    this.protocolError('unexpected_binary', 'binary message (the protocol is JSON text only)');
  }

  protected onText(data: RawData): void {
    const event = this.accepted(tryParseServerEvent(data));
    if (event === undefined) return;
    if (event.type === 'ignored') {
      if (this.#stats.ignoredMessages++ < 5) this.log.debug({ type: event.original }, 'ignored service event');
      return;
    }
    if (!this.#sessionStarted) {
      // Whatever the service says first proves the session is up: the backoff starts over.
      this.#sessionStarted = true;
      this.conn.resetBackoff();
      this.#clearSessionTimer();
    }
    this.#dispatch(event);
  }

  #dispatch(event: ServerEvent): void {
    switch (event.type) {
      case 'session.created':
        this.#stats.sessions++;
        this.safeEmit('started', event.session?.id);
        break;
      case 'session.updated':
      case 'input_audio_buffer.cleared':
      case 'response.output_audio.done':
        break;
      case 'error': {
        this.counts.serviceErrors++;
        const e = event.error;
        this.reportError({ code: 'service', serviceCode: (e.code ?? e.type ?? 'unknown').slice(0, 64), message: e.message ?? 'service error' });
        // Our response.create refused: no response.created will come for it.
        this.#responseTurns.refused(e.event_id);
        this.#book.refused(e.event_id);
        break;
      }
      case 'input_audio_buffer.speech_started':
        this.#book.speechStarted(event.item_id, event.audio_start_ms);
        if (this.#settings.interruptOnSpeech && this.#interrupt()) this.#stats.bargeIns++;
        break;
      case 'input_audio_buffer.speech_stopped':
        this.#book.speechStopped(event.item_id, event.audio_end_ms);
        break;
      case 'input_audio_buffer.committed':
        this.#book.committed(event.item_id);
        break;
      case 'conversation.item.input_audio_transcription.delta':
        this.#emitTranscript(event.item_id, this.#book.appendItemText(event.item_id, event.delta), false);
        break;
      case 'conversation.item.input_audio_transcription.completed':
        this.#emitTranscript(event.item_id, event.transcript, true);
        this.#book.itemText.delete(event.item_id);
        this.#book.itemTimes.delete(event.item_id);
        break;
      case 'conversation.item.input_audio_transcription.failed':
        this.counts.serviceErrors++;
        this.#book.itemText.delete(event.item_id);
        this.reportError({ code: 'service', serviceCode: (event.error?.code ?? 'transcription_failed').slice(0, 64), message: event.error?.message ?? 'transcription failed' });
        break;
      case 'response.created':
        this.#stats.responsesStarted++;
        this.#responseTurns.created(event.response.id);
        rememberBounded(this.#book.responses, event.response.id, { utteranceId: this.#book.lastCommittedItem ?? event.response.id, text: '' });
        break;
      case 'response.output_audio.delta':
        this.#onAudio(event.response_id, event.delta);
        break;
      case 'response.output_audio_transcript.delta': {
        if (this.#book.cancelled.has(event.response_id)) break;
        const r = this.#book.response(event.response_id);
        r.text = (r.text + event.delta).slice(0, 16_384);
        this.#emitTranslation(r, r.text, false);
        break;
      }
      case 'response.output_audio_transcript.done':
        if (this.#book.cancelled.has(event.response_id)) break;
        this.#emitTranslation(this.#book.response(event.response_id), event.transcript.slice(0, 16_384), true);
        break;
      case 'response.done': {
        const id = event.response.id;
        this.#stats.responsesDone++;
        // Placed after the response's audio: reached when the last of it has been played.
        this.queue.addMark(`response:${id}`);
        this.#book.responses.delete(id);
        this.#responseTurns.done(id);
        break;
      }
    }
  }

  #onAudio(responseId: string, base64: string): void {
    const decoded = decodeBase64Audio(base64);
    if (!decoded.ok) {
      this.protocolError(decoded.error.code, decoded.error.message);
      return;
    }
    const bytes = decoded.bytes;
    this.counts.audioMessagesReceived++;
    if (this.#book.cancelled.has(responseId)) {
      // In flight when we cancelled: the listener must not hear the rest of an interrupted answer.
      this.#stats.samplesDiscarded += bytes.length >> 1;
      return;
    }
    this.playAudio(bytes);
  }

  #emitTranscript(itemId: string, text: string, final: boolean): void {
    const times = this.#book.itemTimes.get(itemId);
    const now = this.#book.serviceMs(((this.#sentSamples - this.#book.offsetSamples) * 1000) / REALTIME_SAMPLE_RATE);
    this.safeEmit('transcript', {
      event: 'transcript',
      utteranceId: itemId,
      text: text.slice(0, 16_384),
      final,
      startMs: times?.startMs ?? now,
      endMs: times?.endMs ?? now,
      language: this.#settings.sourceLanguage,
    });
  }

  #emitTranslation(r: ResponseState, text: string, final: boolean): void {
    this.safeEmit('translation', { event: 'translation', utteranceId: r.utteranceId, text, language: this.#settings.targetLanguage, final });
  }
}

/** A StageFactory: one OpenAI Realtime stage per direction of a pair (same options both ways; languages swapped by the caller). */
export function openAiRealtimeStageFactory(options: OpenAiRealtimeStageOptions): (context: StageContext) => OpenAiRealtimeStage {
  // Validate once, so a bad setting fails where it is configured rather than at the first call.
  parseConfig(OpenAiRealtimeStageOptionsSchema, options, 'openaiRealtime');
  return (context) => new OpenAiRealtimeStage(context, options);
}
