/**
 * A local double of Google Cloud Speech-to-Text v1 (`Speech.StreamingRecognize`),
 * Translation v3 (`TranslationService.TranslateText`) and Text-to-Speech v1
 * (`TextToSpeech.SynthesizeSpeech`): one gRPC server on 127.0.0.1 serving the
 * three services from Google's published protos (the same definitions the
 * adapters load), plaintext HTTP/2.
 *
 * Every call needs `x-goog-api-key: <key>` (UNAUTHENTICATED otherwise, as
 * Google answers a missing or wrong key). Speech: the first message must be
 * the `streamingConfig` (INVALID_ARGUMENT otherwise); audio is decoded by its
 * encoding (MULAW / LINEAR16), speech found by energy, and each utterance is
 * answered with the next line of a script — an interim result (half the
 * words, `stability` 0.8) after `interimAfterMs` of speech, then an `isFinal`
 * result with confidence and word offsets after `endpointingMs` of silence,
 * or at once when the client half-closes (then the stream ends OK). A stream
 * that has carried `streamLimitMs` of audio ends with OUT_OF_RANGE "Exceeded
 * maximum allowed stream duration", as Google's does at ~305 s.
 * Translation: `dictionary[text]`, else `<target>: <text>`. TTS: a 440 Hz
 * tone (50 ms per character) in the asked encoding and rate, inside a WAV
 * header as Google sends it.
 *
 * Faults, per service, for the next `times` calls (default: all): `unavailable`
 * (UNAVAILABLE at once), `exhausted` (RESOURCE_EXHAUSTED, quota), `stall`
 * (takes the request, never answers), `drop` (speech: UNAVAILABLE when an
 * utterance's interim has gone out), `malformed` (speech: a result without
 * alternatives first; translate: no translations; TTS: audio that is not WAV),
 * `hangup` (speech: ends the stream OK as soon as its config arrives).
 */
import * as grpc from '@grpc/grpc-js';
import { decodeUlaw, encodeUlaw } from '../../engine/src/codec/index.js';
import { googleServiceDefinition, type GoogleService } from '../../engine/src/pipeline/cascade/google/grpc.js';

export type GoogleFault = 'none' | 'unavailable' | 'exhausted' | 'stall' | 'drop' | 'malformed' | 'hangup';

export interface GoogleDoubleOptions {
  apiKey: string;
  /** Text of each recognized utterance, in order; the last repeats once the script runs out. */
  script?: string[];
  dictionary?: Record<string, string>;
  speechRms?: number;
  interimAfterMs?: number;
  endpointingMs?: number;
  streamLimitMs?: number;
}

export interface SpeechSessionRecord {
  config: Record<string, unknown> | null;
  interimResults: boolean | null;
  singleUtterance: boolean | null;
  audioBytes: number;
  utterances: number;
  halfClosed: boolean;
  cancelled: boolean;
  status: string | null;
}

interface Duration {
  seconds: string;
  nanos: number;
}
const duration = (ms: number): Duration => ({ seconds: String(Math.floor(ms / 1000)), nanos: Math.round((ms % 1000) * 1e6) });
const fail = (code: grpc.status, details: string): Partial<grpc.StatusObject> => ({ code, details });

/** What ListVoices offers: a few of Google's documented voice names. */
const VOICES = [
  { languageCodes: ['en-US'], name: 'en-US-Standard-C', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 },
  { languageCodes: ['en-GB'], name: 'en-GB-Standard-A', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 },
  { languageCodes: ['es-US'], name: 'es-US-Standard-A', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 },
  { languageCodes: ['es-ES'], name: 'es-ES-Standard-A', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 },
  { languageCodes: ['fr-FR'], name: 'fr-FR-Standard-A', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 },
];

export class GoogleDouble {
  readonly speechSessions: SpeechSessionRecord[] = [];
  readonly translateRequests: Array<Record<string, unknown>> = [];
  readonly ttsRequests: Array<Record<string, unknown>> = [];
  /** Calls refused for a missing or wrong key. */
  unauthenticated = 0;
  readonly #server = new grpc.Server();
  readonly #o: Required<GoogleDoubleOptions>;
  readonly #faults = new Map<GoogleService, { fault: GoogleFault; times: number }>();
  readonly #stalled = new Set<{ cancel: () => void }>();
  #line = 0;
  #port = 0;

  private constructor(options: GoogleDoubleOptions) {
    this.#o = { script: [''], dictionary: {}, speechRms: 300, interimAfterMs: 200, endpointingMs: 400, streamLimitMs: 305_000, ...options };
    this.#server.addService(googleServiceDefinition('speech').service, { streamingRecognize: (call: grpc.ServerDuplexStream<Record<string, unknown>, object>) => this.#recognize(call) });
    this.#server.addService(googleServiceDefinition('translate').service, { translateText: this.#unary('translate', (req, fault) => this.#translate(req, fault)) });
    this.#server.addService(googleServiceDefinition('tts').service, {
      synthesizeSpeech: this.#unary('tts', (req, fault) => this.#synthesize(req, fault)),
      listVoices: (call: grpc.ServerUnaryCall<{ languageCode: string }, object>, callback: grpc.sendUnaryData<object>) => {
        if (!this.#authorized(call.metadata)) return callback(fail(grpc.status.UNAUTHENTICATED, 'API key not valid. Please pass a valid API key.'));
        const lang = call.request.languageCode.toLowerCase();
        callback(null, { voices: VOICES.filter((v) => lang === '' || v.languageCodes.some((c) => c.toLowerCase().startsWith(lang))) });
      },
    });
  }

  static async start(options: GoogleDoubleOptions): Promise<GoogleDouble> {
    const d = new GoogleDouble(options);
    d.#port = await new Promise<number>((resolve, reject) => {
      d.#server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err !== null ? reject(err) : resolve(port)));
    });
    return d;
  }

  /** host:port, as the adapters' `endpoint`. */
  get endpoint(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Switches a service's fault for its next `times` calls. */
  setFault(service: GoogleService, fault: GoogleFault, times = Number.POSITIVE_INFINITY): void {
    this.#faults.set(service, { fault, times });
  }

  /** Speech streams still open. */
  get liveSpeechStreams(): number {
    return this.speechSessions.filter((s) => s.status === null && !s.cancelled).length;
  }

  async close(): Promise<void> {
    for (const s of this.#stalled) s.cancel();
    this.#stalled.clear();
    this.#server.forceShutdown();
    await Promise.resolve();
  }

  #nextLine(): string {
    const script = this.#o.script;
    const line = script[Math.min(this.#line, script.length - 1)] ?? '';
    this.#line++;
    return line;
  }

  #takeFault(service: GoogleService): GoogleFault {
    const f = this.#faults.get(service);
    if (f === undefined || f.times <= 0) return 'none';
    f.times--;
    return f.fault;
  }

  #authorized(md: grpc.Metadata): boolean {
    const key = md.get('x-goog-api-key')[0];
    if (key === this.#o.apiKey) return true;
    this.unauthenticated++;
    return false;
  }

  /** A unary handler with the key check and the common faults. */
  #unary(service: GoogleService, answer: (req: Record<string, unknown>, fault: GoogleFault) => object | Partial<grpc.StatusObject>): grpc.handleUnaryCall<Record<string, unknown>, object> {
    return (call, callback) => {
      if (!this.#authorized(call.metadata)) return callback(fail(grpc.status.UNAUTHENTICATED, 'API key not valid. Please pass a valid API key.'));
      const fault = this.#takeFault(service);
      if (fault === 'unavailable') return callback(fail(grpc.status.UNAVAILABLE, 'The service is currently unavailable.'));
      if (fault === 'exhausted') return callback(fail(grpc.status.RESOURCE_EXHAUSTED, 'Quota exceeded for quota metric.'));
      if (fault === 'stall') {
        const held = { cancel: () => callback(fail(grpc.status.UNAVAILABLE, 'double closing')) };
        this.#stalled.add(held);
        call.on('cancelled', () => this.#stalled.delete(held));
        return;
      }
      (service === 'translate' ? this.translateRequests : this.ttsRequests).push(call.request);
      const res = answer(call.request, fault);
      if ('code' in res) callback(res);
      else callback(null, res);
    };
  }

  #translate(req: Record<string, unknown>, fault: GoogleFault): object | Partial<grpc.StatusObject> {
    if (typeof req['parent'] !== 'string' || !/^projects\/[^/]+(\/locations\/[^/]+)?$/.test(req['parent'])) return fail(grpc.status.INVALID_ARGUMENT, 'Invalid resource name: parent');
    const target = typeof req['targetLanguageCode'] === 'string' ? req['targetLanguageCode'] : '';
    if (target === '') return fail(grpc.status.INVALID_ARGUMENT, 'Target language is required.');
    const contents = req['contents'] as string[];
    if (fault === 'malformed') return { translations: [] };
    return { translations: contents.map((t) => ({ translatedText: this.#o.dictionary[t] ?? `${target}: ${t}`, detectedLanguageCode: '' })) };
  }

  #synthesize(req: Record<string, unknown>, fault: GoogleFault): object | Partial<grpc.StatusObject> {
    const input = req['input'] as { text?: string } | null;
    const audio = req['audioConfig'] as { audioEncoding: string; sampleRateHertz: number } | null;
    const text = input?.text ?? '';
    if (text === '' || audio === null) return fail(grpc.status.INVALID_ARGUMENT, 'input.text and audioConfig are required');
    const rate = audio.sampleRateHertz || 24000;
    if (audio.audioEncoding !== 'MULAW' && audio.audioEncoding !== 'LINEAR16') return fail(grpc.status.INVALID_ARGUMENT, `the double speaks MULAW and LINEAR16, not ${audio.audioEncoding}`);
    const n = Math.round((rate * Math.min(10_000, 50 * text.length)) / 1000);
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    if (fault === 'malformed') return { audioContent: Buffer.from('not a wav at all') };
    return { audioContent: wav(pcm, rate, audio.audioEncoding === 'MULAW') };
  }

  #recognize(call: grpc.ServerDuplexStream<Record<string, unknown>, object>): void {
    const record: SpeechSessionRecord = { config: null, interimResults: null, singleUtterance: null, audioBytes: 0, utterances: 0, halfClosed: false, cancelled: false, status: null };
    const end = (status: Partial<grpc.StatusObject> | null): void => {
      if (record.status !== null || record.cancelled) return;
      record.status = status === null ? 'OK' : (grpc.status[status.code!] ?? String(status.code));
      if (status === null) call.end();
      else call.emit('error', status);
    };
    call.on('cancelled', () => (record.cancelled = true));
    call.on('error', () => undefined);
    if (!this.#authorized(call.metadata)) return end(fail(grpc.status.UNAUTHENTICATED, 'API key not valid. Please pass a valid API key.'));
    const fault = this.#takeFault('speech');
    if (fault === 'unavailable') return end(fail(grpc.status.UNAVAILABLE, 'The service is currently unavailable.'));
    if (fault === 'exhausted') return end(fail(grpc.status.RESOURCE_EXHAUSTED, 'Quota exceeded.'));
    this.speechSessions.push(record);
    const o = this.#o;
    let rate = 8000;
    let mulaw = true;
    let samples = 0;
    let sum = 0;
    let count = 0;
    let inSpeech = false;
    let speechStartMs = 0;
    let speechMs = 0;
    let silenceMs = 0;
    let interimSent = false;
    let text = '';
    let malformedSent = false;
    const nowMs = (): number => (samples * 1000) / rate;
    const send = (msg: object): void => {
      if (record.status === null && !record.cancelled && fault !== 'stall') call.write(msg);
    };
    const final = (): void => {
      inSpeech = false;
      if (fault === 'malformed' && !malformedSent) {
        malformedSent = true;
        send({ results: [{ alternatives: [], isFinal: false, stability: 0.1 }] });
      }
      const words = text.split(' ');
      const step = (nowMs() - speechStartMs) / Math.max(1, words.length);
      send({
        results: [
          {
            alternatives: [{ transcript: text, confidence: 0.92, words: words.map((word, i) => ({ word, startTime: duration(speechStartMs + i * step), endTime: duration(speechStartMs + (i + 1) * step) })) }],
            isFinal: true,
            stability: 0,
            resultEndTime: duration(nowMs()),
            languageCode: typeof record.config?.['languageCode'] === 'string' ? record.config['languageCode'].toLowerCase() : '',
          },
        ],
        speechEventType: 'SPEECH_EVENT_UNSPECIFIED',
      });
      if (record.singleUtterance === true) {
        send({ results: [], speechEventType: 'END_OF_SINGLE_UTTERANCE' });
        end(null);
      }
    };
    const onChunk = (rms: number): void => {
      if (rms >= o.speechRms) {
        if (!inSpeech) {
          inSpeech = true;
          speechStartMs = nowMs() - 20;
          speechMs = 0;
          interimSent = false;
          text = this.#nextLine();
          record.utterances++;
        }
        speechMs += 20;
        silenceMs = 0;
        if (!interimSent && speechMs >= o.interimAfterMs) {
          interimSent = true;
          const words = text.split(' ');
          send({ results: [{ alternatives: [{ transcript: words.slice(0, Math.max(1, words.length >> 1)).join(' '), confidence: 0 }], isFinal: false, stability: 0.8, resultEndTime: duration(nowMs()) }] });
          if (fault === 'drop') end(fail(grpc.status.UNAVAILABLE, 'Connection reset by peer'));
        }
        return;
      }
      if (!inSpeech) return;
      silenceMs += 20;
      if (silenceMs >= o.endpointingMs) final();
    };
    call.on('data', (msg: Record<string, unknown>) => {
      if (record.status !== null) return;
      const cfg = msg['streamingConfig'] as { config: Record<string, unknown>; interimResults: boolean; singleUtterance: boolean } | undefined;
      if (record.config === null) {
        if (cfg === undefined || cfg === null) return end(fail(grpc.status.INVALID_ARGUMENT, 'The first StreamingRecognizeRequest must contain a streaming_config.'));
        record.config = cfg.config;
        record.interimResults = cfg.interimResults;
        record.singleUtterance = cfg.singleUtterance;
        rate = Number(cfg.config['sampleRateHertz']);
        mulaw = cfg.config['encoding'] === 'MULAW';
        if (!mulaw && cfg.config['encoding'] !== 'LINEAR16') return end(fail(grpc.status.INVALID_ARGUMENT, 'unsupported encoding'));
        if (fault === 'hangup') end(null);
        return;
      }
      const audio = msg['audioContent'] as Buffer | undefined;
      if (audio === undefined || audio.length === 0) return end(fail(grpc.status.INVALID_ARGUMENT, 'audio_content expected after the streaming_config'));
      record.audioBytes += audio.length;
      const n = mulaw ? audio.length : audio.length >> 1;
      const pcm = new Int16Array(n);
      if (mulaw) decodeUlaw(audio, 0, n, pcm);
      else for (let i = 0; i < n; i++) pcm[i] = audio.readInt16LE(2 * i);
      const chunk = rate / 50;
      for (let i = 0; i < n; i++) {
        sum += pcm[i]! * pcm[i]!;
        samples++;
        if (++count === chunk) {
          onChunk(Math.sqrt(sum / chunk));
          sum = 0;
          count = 0;
        }
      }
      if (nowMs() > o.streamLimitMs) end(fail(grpc.status.OUT_OF_RANGE, `Exceeded maximum allowed stream duration of ${Math.round(o.streamLimitMs / 1000)} seconds.`));
    });
    call.on('end', () => {
      record.halfClosed = true;
      if (fault === 'stall') return;
      if (inSpeech) final();
      end(null);
    });
  }
}

/** A mono WAV as Google's answers carry it: PCM16 (format 1) or µ-law (format 7). */
function wav(pcm: Int16Array, rate: number, mulaw: boolean): Buffer {
  const bytesPer = mulaw ? 1 : 2;
  const data = Buffer.alloc(pcm.length * bytesPer);
  if (mulaw) encodeUlaw(pcm, pcm.length, data, 0);
  else for (let i = 0; i < pcm.length; i++) data.writeInt16LE(pcm[i]!, 2 * i);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(mulaw ? 7 : 1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * bytesPer, 28);
  h.writeUInt16LE(bytesPer, 32);
  h.writeUInt16LE(bytesPer * 8, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
