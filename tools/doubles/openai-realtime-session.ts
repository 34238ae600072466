/**
 * One connection of the OpenAI-Realtime local server (local-server.ts): it
 * validates what the client sends, finds turns by energy (server_vad) or takes
 * the client's commits, and answers each turn in order with a transcript and
 * spoken audio that only name the utterance. What each session did is kept in
 * its LocalSessionRecord for tests.
 */
import type { RawData, WebSocket } from 'ws';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { guardSessionMessages, sendIfOpen, type DoubleSession } from './ws-double-server.js';
import { EnergyUtteranceDetector, type Utterance } from '../../engine/src/pipeline/streaming/energy-detector.js';
import { synthesizeSpeechSamples } from '../../engine/src/pipeline/streaming/espeak.js';
import { MIN_COMMIT_MS, REALTIME_SAMPLE_RATE, decodeBase64Audio, tryParseClientEvent, type ClientEvent, type SessionConfig } from '../../engine/src/pipeline/providers/openai-realtime/protocol.js';

export interface OpenAiRealtimeLocalServerOptions {
  host?: string;
  port?: number;
  /** When set, the upgrade needs `Authorization: Bearer <apiKey>` (else HTTP 401). */
  apiKey?: string;
  /** What the answers sound like: espeak-ng speaking the answer text (default), or a tone. */
  answer?: 'speech' | 'tone';
  /** espeak-ng voice of spoken answers (default "en"). */
  espeakVoice?: string;
  toneHz?: number;
  toneMs?: number;
  /** Audio per `response.output_audio.delta` (default 100 ms). */
  chunkMs?: number;
  /** Pause between deltas (default 0: as fast as the socket takes them); keeps a response "in progress" longer. */
  chunkIntervalMs?: number;
  /** `beta` sends the older event names (`response.audio.delta`, `response.audio_transcript.*`). */
  eventNames?: 'ga' | 'beta';
  /** Energy detector threshold (RMS, int16 scale) for server_vad. */
  thresholdRms?: number;
  /** Seconds of received audio each session keeps for inspection (default 30). */
  captureSeconds?: number;
}

export interface LocalUtterance {
  n: number;
  itemId: string;
  /** On the session's audio clock (ms of audio received). */
  startMs: number;
  endMs: number;
  text: string;
  responseId: string | null;
  /** 24 kHz samples of answer audio sent. */
  samplesSent: number;
  status: 'committed' | 'in_progress' | 'completed' | 'cancelled';
}

/** What one connection did, for assertions. */
export interface LocalSessionRecord {
  id: string;
  /** `model` query parameter of the upgrade URL. */
  model: string | null;
  /** Every valid session.update's `session`, in order. */
  sessionUpdates: SessionConfig[];
  turnDetection: 'server_vad' | 'none';
  appends: number;
  /** 24 kHz samples received in appends. */
  samplesReceived: number;
  /** The first captureSeconds of received audio (valid for capturedSamples). */
  capture: Int16Array;
  capturedSamples: number;
  commits: number;
  responseCreates: number;
  cancels: number;
  clears: number;
  utterances: LocalUtterance[];
  /** What the double refused or found out of order, as "code: detail". */
  invalid: string[];
  closed: boolean;
}

const log = logger('pipeline.openai-realtime-local');

interface ActiveResponse {
  id: string;
  cancelled: boolean;
}

/** server_vad defaults of the real service, used until session.update says otherwise. */
const DEFAULT_SILENCE_MS = 500;
const DEFAULT_PREFIX_MS = 300;
const MIN_SPEECH_MS = 60;

/** One connection: validation, turn detection, answers in order. */
export class LocalSession implements DoubleSession {
  readonly #ws: WebSocket;
  readonly #record: LocalSessionRecord;
  readonly #options: OpenAiRealtimeLocalServerOptions;
  #config: SessionConfig | null = null;
  #detector: EnergyUtteranceDetector;
  #createResponse = true;
  #prefixMs = DEFAULT_PREFIX_MS;
  #inSpeech = false;
  #speechItem: string | null = null;
  #samplesSinceCommit = 0;
  #lastItem: string | null = null;
  #nextEvent = 1;
  #nextItem = 1;
  #nextResponse = 1;
  #active: ActiveResponse | null = null;
  #busy = 0;
  #answers: Promise<void> = Promise.resolve();
  #pcm = new Int16Array(0);
  #stalled: boolean;
  #createdSent = false;
  #disposed = false;
  readonly #sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  constructor(ws: WebSocket, record: LocalSessionRecord, options: OpenAiRealtimeLocalServerOptions, stalled: boolean) {
    this.#ws = ws;
    this.#record = record;
    this.#options = options;
    this.#stalled = stalled;
    this.#detector = this.#makeDetector(DEFAULT_SILENCE_MS);
    guardSessionMessages(
      ws,
      { id: record.id, log, label: 'local realtime session' },
      (data, isBinary) => this.#onMessage(data, isBinary),
      () => ws.close(1011, 'internal error'),
    );
    if (stalled) ws.pause();
    else this.#sendCreated();
  }

  setStalled(on: boolean): void {
    this.#stalled = on;
    if (on) {
      this.#ws.pause();
    } else {
      this.#ws.resume();
      this.#sendCreated();
    }
  }

  terminate(): void {
    this.#ws.terminate();
  }

  sendRaw(data: string | Buffer): void {
    sendIfOpen(this.#ws, data, typeof data !== 'string');
  }

  dispose(): void {
    this.#disposed = true;
    this.#record.closed = true;
    for (const s of this.#sleepers) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.#sleepers.clear();
  }

  #sendCreated(): void {
    if (this.#createdSent) return;
    this.#createdSent = true;
    this.#send({ type: 'session.created', session: { id: this.#record.id, object: 'realtime.session', type: 'realtime', model: this.#record.model } });
  }

  #makeDetector(silenceMs: number): EnergyUtteranceDetector {
    return new EnergyUtteranceDetector({
      sampleRate: REALTIME_SAMPLE_RATE,
      minSpeechMs: MIN_SPEECH_MS,
      hangoverMs: silenceMs,
      ...(this.#options.thresholdRms !== undefined ? { thresholdRms: this.#options.thresholdRms } : {}),
    });
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#refuse('invalid_event', 'binary messages are not part of the protocol', null);
      return;
    }
    const parsed = tryParseClientEvent(data);
    if (!parsed.ok) {
      this.#refuse(parsed.error.code === 'not_json' ? 'invalid_json' : 'invalid_event', parsed.error.message, null);
      return;
    }
    const event = parsed.message;
    switch (event.type) {
      case 'session.update':
        this.#onSessionUpdate(event.session);
        break;
      case 'input_audio_buffer.append':
        this.#onAppend(event.audio, event.event_id ?? null);
        break;
      case 'input_audio_buffer.commit':
        this.#onCommit(event.event_id ?? null);
        break;
      case 'input_audio_buffer.clear':
        this.#record.clears++;
        this.#samplesSinceCommit = 0;
        this.#send({ type: 'input_audio_buffer.cleared' });
        break;
      case 'response.create':
        this.#record.responseCreates++;
        if (this.#busy > 0) {
          this.#refuse('conversation_already_has_active_response', 'a response is in progress', event.event_id ?? null);
          return;
        }
        this.#queueResponse(this.#record.utterances.find((u) => u.itemId === this.#lastItem && u.responseId === null) ?? null);
        break;
      case 'response.cancel':
        this.#onCancel(event);
        break;
    }
  }

  #onSessionUpdate(session: SessionConfig): void {
    if (this.#config === null && this.#record.appends > 0) this.#record.invalid.push('order: session.update after audio');
    this.#config = session;
    this.#record.sessionUpdates.push(session);
    const input = session.audio?.input;
    if (input?.turn_detection !== undefined) {
      const td = input.turn_detection;
      this.#record.turnDetection = td === null ? 'none' : 'server_vad';
      if (td !== null && td.type === 'server_vad') {
        this.#detector = this.#makeDetector(td.silence_duration_ms ?? DEFAULT_SILENCE_MS);
        this.#prefixMs = td.prefix_padding_ms ?? DEFAULT_PREFIX_MS;
      }
      this.#createResponse = td === null ? false : td.create_response !== false;
    }
    this.#send({ type: 'session.updated', session: { ...session, id: this.#record.id, object: 'realtime.session' } });
  }

  #onAppend(audio: string, eventId: string | null): void {
    const decoded = decodeBase64Audio(audio);
    if (!decoded.ok) {
      this.#refuse('invalid_audio', decoded.error.message, eventId);
      return;
    }
    if (this.#config === null && this.#record.appends === 0) this.#record.invalid.push('order: audio before session.update');
    const bytes = decoded.bytes;
    const n = bytes.length >> 1;
    this.#record.appends++;
    if (this.#pcm.length < n) this.#pcm = new Int16Array(n);
    const pcm = this.#pcm;
    for (let i = 0; i < n; i++) pcm[i] = bytes.readInt16LE(2 * i);
    const r = this.#record;
    const room = Math.min(n, r.capture.length - r.capturedSamples);
    if (room > 0) {
      r.capture.set(pcm.subarray(0, room), r.capturedSamples);
      r.capturedSamples += room;
    }
    r.samplesReceived += n;
    this.#samplesSinceCommit += n;
    if (r.turnDetection !== 'server_vad') return;
    this.#detector.push(pcm, n, (u) => this.#onSpeechEnd(u));
    if (this.#detector.inSpeech && !this.#inSpeech) {
      this.#inSpeech = true;
      this.#speechItem = this.#newItemId();
      const nowMs = (r.samplesReceived * 1000) / REALTIME_SAMPLE_RATE;
      this.#send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.max(0, Math.round(nowMs - MIN_SPEECH_MS - this.#prefixMs)), item_id: this.#speechItem });
    }
  }

  #onSpeechEnd(u: Utterance): void {
    this.#inSpeech = false;
    const itemId = this.#speechItem ?? this.#newItemId();
    this.#speechItem = null;
    this.#send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: u.endMs, item_id: itemId });
    const utterance = this.#commit(itemId, u.startMs, u.endMs);
    if (this.#createResponse) this.#queueResponse(utterance);
  }

  #onCommit(eventId: string | null): void {
    const ms = (this.#samplesSinceCommit * 1000) / REALTIME_SAMPLE_RATE;
    if (ms < MIN_COMMIT_MS) {
      this.#refuse('input_audio_buffer_commit_empty', `buffer too small: ${ms.toFixed(2)} ms of audio, need ${MIN_COMMIT_MS} ms`, eventId);
      return;
    }
    const endMs = (this.#record.samplesReceived * 1000) / REALTIME_SAMPLE_RATE;
    this.#commit(this.#newItemId(), Math.round(endMs - ms), Math.round(endMs));
  }

  #commit(itemId: string, startMs: number, endMs: number): LocalUtterance {
    const r = this.#record;
    r.commits++;
    this.#samplesSinceCommit = 0;
    const n = r.utterances.length + 1;
    const utterance: LocalUtterance = { n, itemId, startMs, endMs, text: `utterance ${n}, ${((endMs - startMs) / 1000).toFixed(1)} s`, responseId: null, samplesSent: 0, status: 'committed' };
    r.utterances.push(utterance);
    this.#send({ type: 'input_audio_buffer.committed', previous_item_id: this.#lastItem, item_id: itemId });
    this.#lastItem = itemId;
    if (this.#config?.audio?.input?.transcription) {
      this.#send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript: utterance.text });
    }
    return utterance;
  }

  #onCancel(event: Extract<ClientEvent, { type: 'response.cancel' }>): void {
    const active = this.#active;
    if (active === null || active.cancelled || (event.response_id !== undefined && event.response_id !== active.id)) {
      this.#refuse('response_cancel_not_active', 'there is no active response to cancel', event.event_id ?? null);
      return;
    }
    this.#record.cancels++;
    active.cancelled = true;
  }

  /** Responses run one at a time, in order (a second waits for the first). */
  #queueResponse(utterance: LocalUtterance | null): void {
    // Counted now, so a response.create arriving before this one starts still finds the conversation busy.
    this.#busy++;
    const active: ActiveResponse = { id: `resp_local_${this.#nextResponse++}`, cancelled: false };
    this.#answers = this.#answers
      .then(() => this.#respond(active, utterance))
      .catch((err: unknown) => {
        log.error({ err: errorMessage(err), session: this.#record.id }, 'local realtime response failed');
      })
      .finally(() => {
        this.#busy--;
        if (this.#active === active) this.#active = null;
      });
  }

  async #respond(active: ActiveResponse, utterance: LocalUtterance | null): Promise<void> {
    if (this.#disposed) return;
    this.#active = active;
    const beta = this.#options.eventNames === 'beta';
    const audioDelta = beta ? 'response.audio.delta' : 'response.output_audio.delta';
    const textDelta = beta ? 'response.audio_transcript.delta' : 'response.output_audio_transcript.delta';
    const itemId = this.#newItemId();
    const text = utterance?.text ?? 'nothing to translate';
    if (utterance !== null) {
      utterance.responseId = active.id;
      utterance.status = 'in_progress';
    }
    this.#send({ type: 'response.created', response: { id: active.id, object: 'realtime.response', status: 'in_progress', output: [] } });
    let pcm: Int16Array;
    try {
      pcm = await this.#answerAudio(text);
    } catch (err) {
      this.#send({ type: 'error', error: { type: 'server_error', code: 'synthesis_failed', message: errorMessage(err), param: null, event_id: null } });
      pcm = new Int16Array(0);
    }
    const chunk = Math.max(1, Math.round(((this.#options.chunkMs ?? 100) * REALTIME_SAMPLE_RATE) / 1000));
    const words = text.split(' ');
    const bytes = Buffer.alloc(chunk * 2);
    for (let at = 0, k = 0; at < pcm.length && !active.cancelled; at += chunk, k++) {
      while (this.#stalled && !this.#disposed) await this.#sleep(20);
      if (this.#disposed) return;
      if (active.cancelled) break;
      const n = Math.min(chunk, pcm.length - at);
      for (let i = 0; i < n; i++) bytes.writeInt16LE(pcm[at + i]!, 2 * i);
      const ids = { response_id: active.id, item_id: itemId, output_index: 0, content_index: 0 };
      this.#send({ type: audioDelta, ...ids, delta: bytes.toString('base64', 0, 2 * n) });
      if (k < words.length) this.#send({ type: textDelta, ...ids, delta: (k === 0 ? '' : ' ') + words[k]! });
      if (utterance !== null) utterance.samplesSent += n;
      if ((this.#options.chunkIntervalMs ?? 0) > 0) await this.#sleep(this.#options.chunkIntervalMs ?? 0);
    }
    while (this.#stalled && !this.#disposed) await this.#sleep(20);
    if (this.#disposed) return;
    const ids = { response_id: active.id, item_id: itemId, output_index: 0, content_index: 0 };
    if (!active.cancelled) {
      this.#send({ type: beta ? 'response.audio.done' : 'response.output_audio.done', ...ids });
      this.#send({ type: beta ? 'response.audio_transcript.done' : 'response.output_audio_transcript.done', ...ids, transcript: text });
    }
    const status = active.cancelled ? 'cancelled' : 'completed';
    if (utterance !== null) utterance.status = status;
    this.#active = null;
    this.#send({ type: 'response.done', response: { id: active.id, object: 'realtime.response', status, output: [] } });
  }

  async #answerAudio(text: string): Promise<Int16Array> {
    if (this.#options.answer === 'tone') {
      const n = Math.round(((this.#options.toneMs ?? 600) * REALTIME_SAMPLE_RATE) / 1000);
      const hz = this.#options.toneHz ?? 440;
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / REALTIME_SAMPLE_RATE));
      return out;
    }
    // espeak-ng writes 22.05 kHz; sox (inside synthesizeSpeechSamples) converts it to the service's 24 kHz.
    return synthesizeSpeechSamples(text, { voice: this.#options.espeakVoice ?? 'en', sampleRate: REALTIME_SAMPLE_RATE });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleepers.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.#sleepers.add(entry);
    });
  }

  #newItemId(): string {
    return `item_local_${this.#record.id}_${this.#nextItem++}`;
  }

  #refuse(code: string, message: string, clientEventId: string | null): void {
    this.#record.invalid.push(`${code}: ${message}`);
    this.#send({ type: 'error', error: { type: 'invalid_request_error', code, message, param: null, event_id: clientEventId } });
  }

  #send(event: { type: string } & Record<string, unknown>): void {
    if (this.#disposed || this.#stalled) return;
    sendIfOpen(this.#ws, JSON.stringify({ event_id: `event_local_${this.#nextEvent++}`, ...event }));
  }
}
