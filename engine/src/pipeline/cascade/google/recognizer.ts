/**
 * Google Cloud Speech-to-Text v1 streaming recognition over gRPC
 * (https://cloud.google.com/speech-to-text/docs/reference/rpc/google.cloud.speech.v1#google.cloud.speech.v1.Speech.StreamingRecognize).
 *
 * Wire: a bidirectional `StreamingRecognize` stream; the first message is the
 * `streamingConfig` (`encoding: MULAW, sampleRateHertz: 8000` on an 8 kHz leg,
 * `LINEAR16` at 16000 on a 16 kHz one, so nothing is resampled;
 * `languageCode`, `interimResults: true`, `singleUtterance: false`, word time
 * offsets), then `audioContent` messages as the frames arrive. Answers carry
 * `results[]` (interim ones with `stability`, then one with `isFinal` and
 * `alternatives[0].transcript/confidence/words`, `resultEndTime` on the
 * stream's audio clock) and `speechEventType` (END_OF_SINGLE_UTTERANCE).
 *
 * Streams are replaced, never repaired: v1 has no "finalize now" message, so
 * Tandem's VAD end of speech half-closes the stream (Google then finalizes
 * what it heard and ends it) while a new stream takes the next audio at once.
 * The same rotation keeps a stream under Google's ~5 minute limit (at
 * `streamLimitMs` of audio, at the next pause or `LIMIT_GRACE_MS` later), and
 * an OUT_OF_RANGE "maximum stream duration" end is restarted without a
 * reconnect. UNAVAILABLE / RESOURCE_EXHAUSTED / INTERNAL reconnect with
 * jittered backoff (the channel's `waitForReady` bounds each attempt);
 * UNAUTHENTICATED / PERMISSION_DENIED / INVALID_ARGUMENT stop the direction.
 * A half-closed stream that has not ended within `finalizeTimeoutMs` is
 * cancelled and counted as a stall. When a stream is lost, its last interim
 * text becomes the utterance's final rather than losing the words.
 */
import * as grpc from '@grpc/grpc-js';
import { logger, type Logger } from '../../../../../common/src/logger.js';
import { TypedEmitter } from '../../../../../common/src/typed-emitter.js';
import { encodeUlaw } from '../../../codec/index.js';
import { OutboundDrops } from '../../providers/outbound-drops.js';
import { writeS16LE } from '../../providers/provider-stage.js';
import type { MediaFrame, StageContext } from '../../stage.js';
import type { Lease } from '../shared.js';
import type { CascadeRecognizer, CascadeRecognizerEvents } from '../types.js';
import { acquireGoogleClient, classifyStatus, googleMetadata, type GoogleEndpoint } from './grpc.js';
import { Backoff, type BackoffSettings } from '../../providers/backoff.js';

export interface GoogleRecognizerOptions extends GoogleEndpoint, BackoffSettings {
  /** e.g. "phone_call", "latest_short"; the service's default when unset. */
  model?: string | undefined;
  enableAutomaticPunctuation: boolean;
  /** Audio per stream before it is replaced (Google ends a stream at about 305 s). */
  streamLimitMs: number;
  /** A half-closed stream must end within this; else it is cancelled and counted as a stall. */
  finalizeTimeoutMs: number;
  /** Each connection attempt (the channel becoming ready) must finish within this. */
  connectTimeoutMs: number;
  /** Above this many audio messages waiting in the stream, frames are dropped. */
  maxBufferedFrames: number;
}

/** After the stream limit, how long a rotation waits for a pause before cutting anyway. */
const LIMIT_GRACE_MS = 10_000;

interface Duration {
  seconds: string;
  nanos: number;
}
interface Alternative {
  transcript: string;
  confidence: number;
  words: Array<{ startTime: Duration | null }>;
}
interface StreamingResult {
  alternatives: Alternative[];
  isFinal: boolean;
  stability: number;
  resultEndTime: Duration | null;
}
interface StreamingResponse {
  error: { code: number; message: string } | null;
  results: StreamingResult[];
  speechEventType: string;
}

type SpeechClient = grpc.Client & { streamingRecognize: (md: grpc.Metadata) => grpc.ClientDuplexStream<object, StreamingResponse> };

/** One StreamingRecognize call and where its audio clock starts on the session's. */
interface Stream {
  call: grpc.ClientDuplexStream<object, StreamingResponse>;
  startMs: number;
  /** Last interim text not yet followed by a final. */
  interim: string;
  interimStartMs: number | null;
  halfClosed: boolean;
  drainTimer: NodeJS.Timeout | null;
  responses: number;
}

const ms = (d: Duration | null): number => (d === null ? 0 : Number(d.seconds) * 1000 + d.nanos / 1e6);

export class GoogleRecognizer extends TypedEmitter<CascadeRecognizerEvents> implements CascadeRecognizer {
  readonly name = 'google-speech';
  readonly #log: Logger;
  readonly #o: GoogleRecognizerOptions;
  readonly #rate: 8000 | 16000;
  readonly #language: string;
  readonly #client: Lease<grpc.Client>;
  readonly #drops: OutboundDrops;
  readonly #backoff: Backoff;
  #current: Stream | null = null;
  readonly #streams = new Set<Stream>();
  /** Audio sent, in samples: the session's clock. */
  #sentSamples = 0;
  #state: 'connecting' | 'open' | 'waiting' | 'stopped' = 'connecting';
  #wasConnected = false;
  #closed = false;
  readonly #counts = {
    connects: 0,
    disconnects: 0,
    streams: 0,
    rotations: 0,
    limitRotations: 0,
    outOfRangeRestarts: 0,
    framesSent: 0,
    bytesSent: 0,
    droppedWrongRate: 0,
    results: 0,
    finals: 0,
    emptyResults: 0,
    serviceErrors: 0,
    stalls: 0,
  };

  constructor(context: StageContext, language: string, legRate: 8000 | 16000, options: GoogleRecognizerOptions) {
    super();
    this.#log = logger('pipeline.google-speech', { pairId: context.pairId, direction: context.direction });
    this.#o = options;
    this.#rate = legRate;
    this.#language = language;
    this.#drops = new OutboundDrops(this.#log);
    this.#backoff = new Backoff(options);
    this.#client = acquireGoogleClient('speech', options);
    this.#connect();
  }

  pushAudio(frame: MediaFrame): void {
    if (this.#closed) return;
    if (frame.sampleRate !== this.#rate) {
      this.#counts.droppedWrongRate++;
      return;
    }
    const s = this.#current;
    if (s === null) {
      this.#drops.drop('not_connected');
      return;
    }
    if (s.call.writableLength >= this.#o.maxBufferedFrames) {
      this.#drops.drop('backpressure');
      return;
    }
    const n = frame.samples;
    // A fresh buffer per frame: grpc-js may hold the message until the transport takes it.
    const buf = Buffer.allocUnsafe(this.#rate === 8000 ? n : 2 * n);
    if (this.#rate === 8000) encodeUlaw(frame.pcm, n, buf, 0);
    else writeS16LE(frame.pcm, n, buf);
    s.call.write({ audioContent: buf });
    this.#drops.sent();
    this.#counts.framesSent++;
    this.#counts.bytesSent += buf.length;
    this.#sentSamples += n;
    const streamMs = this.#nowMs() - s.startMs;
    if (streamMs >= this.#o.streamLimitMs && (s.interim === '' || streamMs >= this.#o.streamLimitMs + LIMIT_GRACE_MS)) {
      this.#counts.limitRotations++;
      this.#rotate();
    }
  }

  endOfSpeech(): void {
    // Only a stream holding unfinished speech has anything to finalize.
    if (this.#current !== null && this.#current.interim !== '') this.#rotate();
  }

  stats(): object {
    return { ...this.#counts, state: this.#state, droppedNotConnected: this.#drops.notConnected, droppedBackpressure: this.#drops.backpressure };
  }

  /** Cancels every stream and releases the shared channel. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = 'stopped';
    this.#backoff.cancel();
    for (const s of this.#streams) this.#drop(s);
    this.#current = null;
    this.#client.release();
  }

  #nowMs(): number {
    return (this.#sentSamples * 1000) / this.#rate;
  }

  #connect(): void {
    if (this.#closed) return;
    this.#state = 'connecting';
    this.#client.value.waitForReady(Date.now() + this.#o.connectTimeoutMs, (err) => {
      if (this.#closed) return;
      if (err !== undefined && err !== null) {
        this.safeEmit('error', 'connect_failed', `google-speech: ${err.message}`);
        this.#retryLater();
        return;
      }
      this.#open();
    });
  }

  #open(): void {
    if (this.#closed) return;
    const client = this.#client.value as SpeechClient;
    const call = client.streamingRecognize(googleMetadata(this.#o));
    const s: Stream = { call, startMs: this.#nowMs(), interim: '', interimStartMs: null, halfClosed: false, drainTimer: null, responses: 0 };
    this.#streams.add(s);
    this.#current = s;
    this.#counts.streams++;
    call.on('data', (res: StreamingResponse) => this.#onResponse(s, res));
    // 'status' ends every call, OK or not; 'error' only repeats it (and must be listened to).
    call.on('error', () => undefined);
    call.on('status', (st: grpc.StatusObject) => this.#onEnd(s, st));
    call.write({
      streamingConfig: {
        config: {
          encoding: this.#rate === 8000 ? 'MULAW' : 'LINEAR16',
          sampleRateHertz: this.#rate,
          audioChannelCount: 1,
          languageCode: this.#language,
          enableAutomaticPunctuation: this.#o.enableAutomaticPunctuation,
          enableWordTimeOffsets: true,
          ...(this.#o.model !== undefined ? { model: this.#o.model } : {}),
        },
        interimResults: true,
        singleUtterance: false,
      },
    });
    this.#state = 'open';
    if (!this.#wasConnected) {
      this.#wasConnected = true;
      this.#counts.connects++;
      this.safeEmit('connection', 'connected', '');
    }
  }

  /** Half-closes the current stream (Google finalizes and ends it) and opens the next one for the audio that follows. */
  #rotate(): void {
    const s = this.#current;
    if (s === null || this.#closed) return;
    this.#counts.rotations++;
    s.halfClosed = true;
    s.call.end();
    s.drainTimer = setTimeout(() => {
      s.drainTimer = null;
      this.#counts.stalls++;
      this.safeEmit('error', 'stalled', `google-speech: no final within ${this.#o.finalizeTimeoutMs} ms of the end of the audio`);
      this.#promoteInterim(s);
      this.#drop(s);
    }, this.#o.finalizeTimeoutMs);
    s.drainTimer.unref();
    this.#open();
  }

  #drop(s: Stream): void {
    if (s.drainTimer !== null) clearTimeout(s.drainTimer);
    s.drainTimer = null;
    this.#streams.delete(s);
    s.call.cancel();
  }

  #onResponse(s: Stream, res: StreamingResponse): void {
    if (this.#closed) return;
    s.responses++;
    this.#backoff.reset();
    if (res.error !== null && res.error.code !== 0) {
      this.#counts.serviceErrors++;
      this.safeEmit('error', 'service', `google-speech: ${res.error.message.slice(0, 200)}`);
    }
    if (res.speechEventType === 'END_OF_SINGLE_UTTERANCE' && s === this.#current) this.#rotate();
    let interim = '';
    for (const r of res.results) {
      this.#counts.results++;
      const alt = r.alternatives[0];
      if (alt === undefined) {
        // Google's own samples guard against this; it carries no text, so it is counted, not reported as a fault.
        this.#counts.emptyResults++;
        continue;
      }
      const text = alt.transcript.trim();
      const endMs = s.startMs + ms(r.resultEndTime);
      if (r.isFinal) {
        const first = alt.words[0]?.startTime ?? null;
        const startMs = first !== null ? s.startMs + ms(first) : (s.interimStartMs ?? endMs);
        s.interim = '';
        s.interimStartMs = null;
        if (text === '') continue;
        this.#counts.finals++;
        this.safeEmit('transcript', { text, final: true, startMs, endMs, confidence: alt.confidence > 0 ? alt.confidence : null });
      } else if (text !== '') {
        s.interimStartMs ??= Math.max(s.startMs, endMs - 1000);
        interim = interim === '' ? text : `${interim} ${text}`;
      }
    }
    if (interim !== '') {
      s.interim = interim;
      this.safeEmit('transcript', { text: interim, final: false, startMs: s.interimStartMs ?? s.startMs, endMs: this.#nowMs(), confidence: null });
    }
  }

  #onEnd(s: Stream, st: grpc.StatusObject): void {
    if (s.drainTimer !== null) clearTimeout(s.drainTimer);
    s.drainTimer = null;
    const known = this.#streams.delete(s);
    if (this.#closed || !known) return;
    this.#promoteInterim(s);
    const current = s === this.#current;
    if (current) this.#current = null;
    // A service that ends every stream at once must not be answered with a tight loop of new streams.
    const proved = s.responses > 0 || this.#nowMs() - s.startMs >= 1000;
    if (st.code === grpc.status.OK) {
      // The service ended the stream (e.g. after a single utterance): go on with a new one.
      if (current && proved) this.#open();
      else if (current) {
        this.#disconnected('the service ended the stream at once');
        this.#retryLater();
      }
      return;
    }
    const what = `google-speech: ${grpc.status[st.code] ?? st.code} ${st.details.slice(0, 200)}`;
    if (st.code === grpc.status.OUT_OF_RANGE && proved) {
      // Google's stream duration limit: a new stream, not a reconnect.
      this.#counts.outOfRangeRestarts++;
      this.#log.info({ detail: st.details.slice(0, 200) }, 'google-speech stream hit its limit; restarted');
      if (current) this.#open();
      return;
    }
    const { providerCode, retryable } = classifyStatus(st.code);
    this.#counts.serviceErrors++;
    this.safeEmit('error', providerCode, what);
    if (!current) return;
    this.#disconnected(what);
    if (retryable) this.#retryLater();
    else this.#state = 'stopped';
  }

  #disconnected(detail: string): void {
    if (!this.#wasConnected) return;
    this.#wasConnected = false;
    this.#counts.disconnects++;
    this.safeEmit('connection', 'disconnected', detail);
  }

  #retryLater(): void {
    if (this.#closed) return;
    const delay = this.#backoff.next(() => this.#connect());
    if (delay === null) {
      this.#state = 'stopped';
      this.safeEmit('error', 'gave_up', `google-speech: no stream after ${this.#backoff.attempts} attempts`);
      return;
    }
    this.#state = 'waiting';
  }

  /** A lost stream's unfinished words are the best transcript there will be. */
  #promoteInterim(s: Stream): void {
    if (s.interim === '') return;
    const text = s.interim;
    s.interim = '';
    this.#counts.finals++;
    this.safeEmit('transcript', { text, final: true, startMs: s.interimStartMs ?? s.startMs, endMs: this.#nowMs(), confidence: null });
  }
}
