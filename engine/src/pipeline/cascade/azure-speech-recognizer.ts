/**
 * Azure AI Speech streaming speech-to-text, spoken over `ws` with the Speech
 * SDK's own message framing (azure-speech-messages.ts) rather than through
 * `microsoft-cognitiveservices-speech-sdk`: the SDK pulls audio from a push
 * stream on its own schedule, keeps a replay buffer for its own reconnects and
 * reports failures as cancellations, so the 20 ms tick's non-blocking write,
 * our bounded queue and WsConnection's backoff would sit under a second,
 * unbounded layer. The SDK is still the judge of the wire: a test drives the
 * real SDK against the local double this adapter is tested with.
 *
 * Wire (one connection, many turns):
 *   GET <url>?language=<tag>&format=detailed, `Ocp-Apim-Subscription-Key`,
 *   `X-ConnectionId`.
 *   → `speech.config` once per connection (who the client is);
 *   → per turn, under a fresh X-RequestId: `speech.context` (conversation mode,
 *     the segmentation silence, detailed output), an `audio` message holding
 *     the RIFF header (µ-law 8 kHz for an 8 kHz leg, PCM 16 kHz for a 16 kHz
 *     one: nothing is resampled), then audio messages as frames arrive;
 *     Tandem's VAD end of speech sends the empty audio message (end of the
 *     turn's audio) so the phrase does not wait for the service's segmentation.
 *   ← `turn.start`, `speech.startDetected`, `speech.hypothesis` (interim text,
 *     Offset/Duration in 100 ns ticks from the turn's first sample),
 *     `speech.phrase` (RecognitionStatus + NBest with Confidence),
 *     `speech.endDetected`, `turn.end` — after which the next turn starts.
 * Frames that arrive while no turn is streaming (connecting, between turns)
 * wait in a bounded queue; beyond it the oldest is dropped and counted.
 */
import type { RawData } from 'ws';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { logger, type Logger } from '../../../../common/src/logger.js';
import { TypedEmitter } from '../../../../common/src/typed-emitter.js';
import { messageBytes } from '../providers/provider-stage.js';
import { OutboundDrops } from '../providers/outbound-drops.js';
import { WsConnection, pickWsConnectionSettings, type WsConnectionSettings } from '../providers/ws-connection.js';
import type { MediaFrame, StageContext } from '../stage.js';
import { TICKS_PER_MS, binaryMessage, newRequestId, parseMessage, textMessage, waveHeader, type SpeechMessage } from './azure-speech-messages.js';
import { complain, encodeForWire, forwardConnection, wireBytes } from './recognizer-wire.js';
import type { CascadeRecognizer, CascadeRecognizerEvents } from './types.js';

export interface AzureSpeechRecognizerOptions extends WsConnectionSettings {
  /** wss://<region>.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1, or a double's URL. */
  url: string;
  /** Sent as `Ocp-Apim-Subscription-Key`; never logged. */
  key: string;
  /** Silence (ms) after which the service ends a phrase by itself. */
  segmentationSilenceMs: number;
  /** Above this many bytes waiting in the socket, audio frames are dropped. */
  maxBufferedBytes: number;
  /** Most audio (ms) held while no turn is streaming. */
  maxPendingMs: number;
  /** A turn whose audio ended but that has no turn.end after this long is a stalled service: the socket is dropped and reopened. */
  turnEndTimeoutMs: number;
}

const Hypothesis = z.object({ Text: z.string(), Offset: z.number(), Duration: z.number() }).passthrough();
const Phrase = z
  .object({
    RecognitionStatus: z.string(),
    DisplayText: z.string().optional(),
    Offset: z.number().optional(),
    Duration: z.number().optional(),
    NBest: z.array(z.object({ Confidence: z.number().optional(), Display: z.string().optional(), Lexical: z.string().optional() }).passthrough()).optional(),
  })
  .passthrough();

/** speech.phrase statuses that are a failure of the request, with the code they are reported as. */
const PHRASE_ERRORS: Readonly<Record<string, string>> = { Error: 'service', TooManyRequests: 'overloaded', BadRequest: 'bad_request', Forbidden: 'unauthorized' };

interface Turn {
  requestId: string;
  /** Session audio (ms) sent before this turn's first sample: the base of its offsets. */
  baseMs: number;
  /** The end-of-audio message went: no more frames on this turn. */
  ending: boolean;
}

export class AzureSpeechRecognizer extends TypedEmitter<CascadeRecognizerEvents> implements CascadeRecognizer {
  readonly name = 'azure-speech';
  readonly #log: Logger;
  readonly #o: AzureSpeechRecognizerOptions;
  readonly #conn: WsConnection<'bad_request'>;
  readonly #rate: 8000 | 16000;
  readonly #drops: OutboundDrops;
  readonly #pending: Int16Array[] = [];
  readonly #maxPending: number;
  #turn: Turn | null = null;
  #sentMs = 0;
  #hypothesis: { text: string; startMs: number; endMs: number } | null = null;
  #turnEndTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #counts = { connects: 0, disconnects: 0, turns: 0, framesSent: 0, bytesSent: 0, droppedWrongRate: 0, hypotheses: 0, finals: 0, noMatch: 0, badMessages: 0, staleMessages: 0, serviceErrors: 0, stalls: 0 };

  constructor(context: StageContext, language: string, legRate: 8000 | 16000, options: AzureSpeechRecognizerOptions) {
    super();
    this.#log = logger('pipeline.azure-speech', { pairId: context.pairId, direction: context.direction });
    this.#o = options;
    this.#rate = legRate;
    this.#maxPending = Math.max(1, Math.ceil(options.maxPendingMs / 20));
    this.#drops = new OutboundDrops(this.#log);
    const url = new URL(options.url);
    url.searchParams.set('language', language);
    url.searchParams.set('format', 'detailed');
    this.#conn = new WsConnection<'bad_request'>({
      url: url.toString(),
      headers: { 'Ocp-Apim-Subscription-Key': options.key, 'X-ConnectionId': randomUUID().replaceAll('-', '').toUpperCase() },
      ...pickWsConnectionSettings(options),
      // 1007: the service refused the request's parameters (language, format); reconnecting would send the same.
      fatalCloseCodes: new Map([[1007, 'bad_request']]),
      attemptGoal: 'turn',
      name: 'azure-speech',
      log: this.#log,
    });
    this.#conn
      .on('open', () => this.#onOpen())
      .on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    forwardConnection(this.#conn, this, this.#counts, () => {
      // What the lost turn had only hypothesized is the best there is: finish it rather than lose the words.
      this.#finishHypothesis();
      this.#endTurn();
    });
    this.#conn.start();
  }

  pushAudio(frame: MediaFrame): void {
    if (this.#closed) return;
    if (frame.sampleRate !== this.#rate) {
      this.#counts.droppedWrongRate++;
      return;
    }
    const ws = this.#conn.socket;
    if (this.#turn === null || this.#turn.ending || ws === null) {
      this.#hold(frame.pcm.slice(0, frame.samples));
      return;
    }
    if (ws.bufferedAmount > this.#o.maxBufferedBytes) {
      this.#drops.drop('backpressure');
      return;
    }
    this.#send(frame.pcm, frame.samples);
  }

  endOfSpeech(): void {
    const turn = this.#turn;
    const ws = this.#conn.socket;
    if (turn === null || turn.ending || ws === null) return;
    turn.ending = true;
    ws.send(binaryMessage('audio', turn.requestId, null, null), { binary: true });
    this.#turnEndTimer = setTimeout(() => this.#onStall(), this.#o.turnEndTimeoutMs);
    this.#turnEndTimer.unref();
  }

  stats(): object {
    return { ...this.#counts, pending: this.#pending.length, droppedPending: this.#drops.notConnected, droppedBackpressure: this.#drops.backpressure };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTurnEndTimer();
    const ws = this.#conn.socket;
    const turn = this.#turn;
    // End the turn's audio (best effort) so the service releases it at once.
    if (ws !== null && turn !== null && !turn.ending) ws.send(binaryMessage('audio', turn.requestId, null, null), { binary: true });
    this.#pending.length = 0;
    this.#conn.close(1000, 'done');
  }

  whenClosed(): Promise<void> {
    return this.#conn.whenClosed();
  }

  #onOpen(): void {
    this.#counts.connects++;
    const ws = this.#conn.socket;
    if (ws === null) return;
    const config = {
      context: {
        system: { name: 'Tandem', version: '1', build: 'Node', lang: 'TypeScript' },
        os: { platform: 'Node', name: process.platform, version: process.version },
        audio: { source: { connectivity: 'Unknown', manufacturer: 'Tandem', model: 'RTP', type: 'Stream' } },
      },
    };
    ws.send(textMessage('speech.config', newRequestId(), 'application/json', JSON.stringify(config)));
    this.#startTurn();
    this.safeEmit('connection', 'connected', '');
  }

  #startTurn(): void {
    const ws = this.#conn.socket;
    if (ws === null || this.#closed) return;
    const turn: Turn = { requestId: newRequestId(), baseMs: this.#sentMs, ending: false };
    this.#turn = turn;
    const context = {
      phraseDetection: { mode: 'Conversation', conversation: { segmentation: { mode: 'Custom', segmentationSilenceTimeoutMs: this.#o.segmentationSilenceMs } } },
      phraseOutput: { format: 'Detailed', detailed: { options: ['WordTimings'] } },
    };
    ws.send(textMessage('speech.context', turn.requestId, 'application/json', JSON.stringify(context)));
    ws.send(binaryMessage('audio', turn.requestId, 'audio/x-wav', waveHeader(this.#rate, this.#rate === 8000 ? 'mulaw' : 'pcm')), { binary: true });
    // What waited for this turn goes first, in order.
    for (const pcm of this.#pending.splice(0)) this.#send(pcm, pcm.length);
  }

  #endTurn(): void {
    this.#clearTurnEndTimer();
    this.#turn = null;
  }

  #hold(pcm: Int16Array): void {
    this.#pending.push(pcm);
    if (this.#pending.length > this.#maxPending) {
      this.#pending.shift();
      this.#drops.drop('not_connected');
    }
  }

  #send(pcm: Int16Array, samples: number): void {
    const ws = this.#conn.socket;
    const turn = this.#turn;
    if (ws === null || turn === null) return;
    const body = Buffer.allocUnsafe(wireBytes(samples, this.#rate));
    const bytes = encodeForWire(pcm, samples, this.#rate, body);
    ws.send(binaryMessage('audio', turn.requestId, null, body), { binary: true });
    this.#drops.sent();
    this.#counts.framesSent++;
    this.#counts.bytesSent += bytes;
    this.#sentMs += (samples * 1000) / this.#rate;
  }

  #onStall(): void {
    this.#turnEndTimer = null;
    this.#counts.stalls++;
    this.safeEmit('error', 'stalled', `no turn.end within ${this.#o.turnEndTimeoutMs} ms of the end of audio; reconnecting`);
    // The connection's down/reconnect path takes it from here.
    this.#conn.socket?.terminate();
  }

  #clearTurnEndTimer(): void {
    if (this.#turnEndTimer !== null) clearTimeout(this.#turnEndTimer);
    this.#turnEndTimer = null;
  }

  #bad(message: string): void {
    complain(this.#log, 'azure speech', this.#counts, this, message);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    if (isBinary) {
      this.#bad('binary message from the recognizer');
      return;
    }
    const msg = parseMessage(messageBytes(data), false);
    if (typeof msg === 'string') {
      this.#bad(msg);
      return;
    }
    const turn = this.#turn;
    if (turn === null || msg.requestId.toLowerCase() !== turn.requestId.toLowerCase()) {
      this.#counts.staleMessages++;
      return;
    }
    switch (msg.path) {
      case 'turn.start':
        // The service took the turn: the connection proved itself.
        this.#conn.resetBackoff();
        this.#counts.turns++;
        return;
      case 'speech.hypothesis':
      case 'speech.fragment':
        this.#onHypothesis(msg, turn);
        return;
      case 'speech.phrase':
        this.#onPhrase(msg, turn);
        return;
      case 'turn.end':
        this.#finishHypothesis();
        this.#endTurn();
        this.#startTurn();
        return;
      default:
        // speech.startDetected, speech.endDetected and messages the service may add: nothing to do.
        return;
    }
  }

  #json(msg: SpeechMessage): unknown {
    try {
      return JSON.parse(typeof msg.body === 'string' ? msg.body : msg.body.toString('utf8'));
    } catch {
      return undefined;
    }
  }

  #onHypothesis(msg: SpeechMessage, turn: Turn): void {
    const h = Hypothesis.safeParse(this.#json(msg));
    if (!h.success) {
      this.#bad(`${msg.path} body is not {Text, Offset, Duration}`);
      return;
    }
    const text = h.data.Text.trim();
    if (text === '') return;
    this.#counts.hypotheses++;
    const startMs = turn.baseMs + h.data.Offset / TICKS_PER_MS;
    const endMs = startMs + h.data.Duration / TICKS_PER_MS;
    this.#hypothesis = { text, startMs, endMs };
    this.safeEmit('transcript', { text, final: false, startMs, endMs, confidence: null });
  }

  #onPhrase(msg: SpeechMessage, turn: Turn): void {
    const p = Phrase.safeParse(this.#json(msg));
    if (!p.success) {
      this.#bad('speech.phrase body is not a phrase');
      return;
    }
    const status = p.data.RecognitionStatus;
    if (status !== 'Success') {
      this.#hypothesis = null;
      const code = PHRASE_ERRORS[status];
      if (code !== undefined) {
        this.#counts.serviceErrors++;
        this.safeEmit('error', code, `azure speech phrase status ${status.slice(0, 40)}`);
      } else this.#counts.noMatch++; // NoMatch, InitialSilenceTimeout, BabbleTimeout, EndOfDictation
      return;
    }
    const best = p.data.NBest?.[0];
    const text = (best?.Display ?? p.data.DisplayText ?? '').trim();
    this.#hypothesis = null;
    if (text === '') return;
    const startMs = turn.baseMs + (p.data.Offset ?? 0) / TICKS_PER_MS;
    const endMs = startMs + (p.data.Duration ?? 0) / TICKS_PER_MS;
    this.#counts.finals++;
    this.safeEmit('transcript', { text, final: true, startMs, endMs, confidence: best?.Confidence ?? null });
  }

  /** A hypothesis the service never confirmed (the turn ended or the socket dropped) becomes the final, without confidence. */
  #finishHypothesis(): void {
    const h = this.#hypothesis;
    if (h === null) return;
    this.#hypothesis = null;
    this.#counts.finals++;
    this.safeEmit('transcript', { text: h.text, final: true, startMs: h.startMs, endMs: h.endMs, confidence: null });
  }
}
