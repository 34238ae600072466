/**
 * A local double of Azure AI Speech streaming speech-to-text
 * (wss://<region>.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1),
 * speaking the Speech SDK's framing (engine/src/pipeline/cascade/azure-speech-messages.ts;
 * test/engine/cascade/azure-speech-sdk.test.ts drives the real SDK against it):
 * `Ocp-Apim-Subscription-Key` on the upgrade (HTTP 401 otherwise), the
 * `language` and `format` query, `speech.config`, then per turn (X-RequestId)
 * `speech.context`, an audio message with the RIFF header (µ-law or PCM, its
 * rate), audio messages, and an empty audio message ending the turn's audio.
 * It answers `turn.start`, `speech.startDetected`, `speech.hypothesis`,
 * `speech.phrase` (simple or detailed), `speech.endDetected` and `turn.end`,
 * with offsets in 100 ns ticks from the turn's first sample.
 *
 * It recognizes nothing: speech is found by energy (EnergySegmenter) and each
 * utterance is named by the next line of the test's script — a hypothesis
 * with the first half of the words after `interimAfterMs` of speech, the
 * phrase after the segmentation silence of the turn's speech.context (or at
 * once when the turn's audio ends).
 *
 * Faults, switched per server: `stall` (takes everything, answers nothing),
 * `drop` (ends the socket right after an utterance's hypothesis), `malformed`
 * (garbage before each phrase), `ratelimit` (refuses the upgrade with 429),
 * `servererror` (closes with 1011 at the first audio), `badrequest` (closes
 * with 1007, the service's answer to parameters it refuses). A wrong key is
 * refused with 401 by the base.
 */
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { logger } from '../../common/src/logger.js';
import { binaryMessage, parseMessage, readWaveHeader, textMessage, type SpeechMessage } from '../../engine/src/pipeline/cascade/azure-speech-messages.js';
import { messageBytes } from '../../engine/src/pipeline/providers/provider-stage.js';
import { EnergySegmenter } from './energy-segmenter.js';
import { Script, ScriptedUtterance, type ScriptOptions } from './scripted-utterances.js';
import { WsDoubleServer, guardSessionMessages, sendIfOpen, type DoubleSession } from './ws-double-server.js';

export type AzureSpeechFault = 'none' | 'stall' | 'drop' | 'malformed' | 'ratelimit' | 'servererror' | 'badrequest';

export interface AzureSpeechDoubleOptions extends ScriptOptions {
  key: string;
  fault?: AzureSpeechFault;
  host?: string;
  port?: number;
}

/** What a session heard, for the test to check. */
export interface AzureSpeechSessionRecord {
  query: Record<string, string>;
  connectionId: string | undefined;
  configs: number;
  /** One per turn: its request id, the speech.context it carried, the audio format, bytes, and whether its audio ended. */
  turns: Array<{ requestId: string; context: unknown; format: { formatTag: number; sampleRate: number; bitsPerSample: number } | null; audioBytes: number; audioEnded: boolean }>;
  utterances: number;
  closed: boolean;
}

const TICKS_PER_MS = 10_000;
const log = logger('doubles.azure-speech');

class AzureSpeechSession implements DoubleSession {
  readonly record: AzureSpeechSessionRecord;
  readonly #ws: WebSocket;
  readonly #server: AzureSpeechDouble;
  readonly #detailed: boolean;
  #requestId = '';
  #segmenter: EnergySegmenter | null = null;
  #silenceTimeoutMs = 500;
  readonly #utterance: ScriptedUtterance;

  constructor(ws: WebSocket, req: IncomingMessage, server: AzureSpeechDouble) {
    this.#ws = ws;
    this.#server = server;
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const connectionId = req.headers['x-connectionid'];
    this.record = { query, connectionId: typeof connectionId === 'string' ? connectionId : undefined, configs: 0, turns: [], utterances: 0, closed: false };
    this.#detailed = query['format'] === 'detailed';
    this.#utterance = new ScriptedUtterance(server.script, {
      started: (_text, startMs) => {
        this.record.utterances++;
        this.#text_('speech.startDetected', { Offset: this.#ticks(startMs) });
        return true;
      },
      interim: (words, startMs, nowMs) => {
        this.#text_('speech.hypothesis', { Text: words, Offset: this.#ticks(startMs), Duration: this.#ticks(nowMs - startMs) });
        if (this.#server.fault === 'drop') this.#ws.terminate();
      },
      silence: (silenceMs) => {
        if (silenceMs >= this.#silenceTimeoutMs) this.#phrase();
      },
    });
    guardSessionMessages(ws, { id: 'azure-speech', log, label: 'azure speech session' }, (data, isBinary) => this.#onMessage(data, isBinary), () => ws.terminate());
  }

  terminate(): void {
    this.#ws.terminate();
  }

  dispose(): void {
    this.record.closed = true;
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const msg = parseMessage(messageBytes(data), isBinary);
    if (typeof msg === 'string') {
      // The service closes a connection whose framing it cannot read.
      this.#ws.close(1007, msg.slice(0, 100));
      return;
    }
    if (msg.path === 'speech.config') {
      this.record.configs++;
      return;
    }
    if (msg.path === 'telemetry') return;
    if (msg.requestId !== this.#requestId) this.#beginTurn(msg.requestId);
    const turn = this.record.turns.at(-1)!;
    if (msg.path === 'speech.context') {
      turn.context = JSON.parse(msg.body as string) as unknown;
      const timeout = (turn.context as { phraseDetection?: { conversation?: { segmentation?: { segmentationSilenceTimeoutMs?: number } } } }).phraseDetection?.conversation?.segmentation?.segmentationSilenceTimeoutMs;
      if (typeof timeout === 'number') this.#silenceTimeoutMs = timeout;
      return;
    }
    if (msg.path !== 'audio') return;
    this.#onAudio(msg, turn);
  }

  #beginTurn(requestId: string): void {
    this.#requestId = requestId;
    this.#segmenter = null;
    this.#utterance.end();
    this.record.turns.push({ requestId, context: null, format: null, audioBytes: 0, audioEnded: false });
    if (this.#server.fault === 'stall') return;
    this.#text_('turn.start', { context: { serviceTag: `double-${this.record.turns.length}` } });
  }

  #onAudio(msg: SpeechMessage, turn: AzureSpeechSessionRecord['turns'][number]): void {
    const body = msg.body as Buffer;
    if (msg.contentType === 'audio/x-wav' && turn.format === null) {
      const format = readWaveHeader(body);
      if (format === null || (format.formatTag !== 1 && format.formatTag !== 7) || format.channels !== 1) {
        this.#ws.close(1007, 'unsupported audio format');
        return;
      }
      turn.format = format;
      this.#segmenter = new EnergySegmenter(format.formatTag === 7 ? 'mulaw' : 'linear16', format.sampleRate, (rms, nowMs) => this.#onChunk(rms, nowMs));
      const rest = body.subarray(44);
      if (rest.length > 0) this.#feed(rest, turn);
      return;
    }
    if (body.length === 0) {
      turn.audioEnded = true;
      if (this.#server.fault === 'stall') return;
      if (this.#utterance.inSpeech) this.#phrase();
      this.#text_('speech.endDetected', { Offset: this.#ticks(this.#segmenter?.nowMs ?? 0) });
      this.#text_('turn.end', {});
      return;
    }
    if (this.#server.fault === 'servererror') {
      this.#ws.close(1011, 'Internal service error');
      return;
    }
    if (this.#server.fault === 'badrequest') {
      this.#ws.close(1007, 'Invalid language');
      return;
    }
    if (this.#segmenter === null) {
      // Audio before the RIFF header: the service cannot know its format.
      this.#ws.close(1007, 'audio before format');
      return;
    }
    this.#feed(body, turn);
  }

  #feed(bytes: Buffer, turn: AzureSpeechSessionRecord['turns'][number]): void {
    turn.audioBytes += bytes.length;
    this.#segmenter?.feed(bytes);
  }

  #onChunk(rms: number, nowMs: number): void {
    if (this.#server.fault !== 'stall') this.#utterance.onChunk(rms, nowMs);
  }

  #phrase(): void {
    const u = this.#utterance;
    u.end();
    if (this.#server.fault === 'malformed') {
      sendIfOpen(this.#ws, 'no headers at all');
      sendIfOpen(this.#ws, `Path: speech.phrase\r\nContent-Type: application/json\r\n\r\n{}`);
      this.#text_('speech.hypothesis', { Text: 42 });
      sendIfOpen(this.#ws, binaryMessage('audio', this.#requestId, null, Buffer.from([1, 2, 3])), true);
    }
    const end = (this.#segmenter?.nowMs ?? 0) - u.silenceMs;
    const display = `${u.text.charAt(0).toUpperCase()}${u.text.slice(1)}.`;
    const base = { RecognitionStatus: 'Success', Offset: this.#ticks(u.startMs), Duration: this.#ticks(end - u.startMs) };
    const lexical = u.text.toLowerCase();
    this.#text_(
      'speech.phrase',
      this.#detailed ? { ...base, NBest: [{ Confidence: 0.93, Lexical: lexical, ITN: lexical, MaskedITN: lexical, Display: display }] } : { ...base, DisplayText: display },
    );
  }

  #ticks(ms: number): number {
    return Math.round(ms * TICKS_PER_MS);
  }

  #text_(path: string, body: object): void {
    sendIfOpen(this.#ws, textMessage(path, this.#requestId, 'application/json; charset=utf-8', JSON.stringify(body)));
  }
}

export class AzureSpeechDouble extends WsDoubleServer<AzureSpeechSession> {
  readonly sessions: AzureSpeechSessionRecord[] = [];
  readonly script: Script;
  fault: AzureSpeechFault;

  private constructor(options: AzureSpeechDoubleOptions) {
    super({
      bearer: options.key,
      authHeader: 'Ocp-Apim-Subscription-Key',
      maxPayload: 1 << 20,
      path: '/speech/recognition/conversation/cognitiveservices/v1',
      name: 'azure speech double',
      log,
    });
    this.script = new Script(options);
    this.fault = options.fault ?? 'none';
  }

  static async start(options: AzureSpeechDoubleOptions): Promise<AzureSpeechDouble> {
    const server = new AzureSpeechDouble(options);
    await server.listen(options.host, options.port);
    return server;
  }

  protected accept(ws: WebSocket, req: IncomingMessage): AzureSpeechSession {
    const session = new AzureSpeechSession(ws, req, this);
    this.sessions.push(session.record);
    return session;
  }

  protected override refusal(): number | null {
    return this.fault === 'ratelimit' ? 429 : null;
  }
}
