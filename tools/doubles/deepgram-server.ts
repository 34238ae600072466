/**
 * A local double of Deepgram live streaming (wss://api.deepgram.com/v1/listen),
 * from its public docs: the query string (encoding mulaw|linear16,
 * sample_rate, interim_results, endpointing, utterance_end_ms, vad_events),
 * `Authorization: Token <key>` (HTTP 401 otherwise), binary audio in, JSON
 * `Results` / `SpeechStarted` / `UtteranceEnd` / `Metadata` out, and the
 * client's `KeepAlive`, `Finalize` and `CloseStream`.
 *
 * It recognizes nothing: it "names the utterance". Speech is found by energy
 * (RMS of each 20 ms of decoded audio), and each utterance is answered with
 * the next line of a script the test gives — an interim result with the first
 * half of the words after `interimAfterMs` of speech (or, with
 * `interims: 'growing'`, one more word every `interimAfterMs`, as Deepgram's
 * interim results grow), then a final with
 * `speech_final: true` after `endpointing` ms of silence (or at once, with
 * `from_finalize: true`, when the client sends Finalize). A script line given
 * as `{ interim, final }` is heard one way in the interims and recognized
 * another way at the final (a recognizer revising itself).
 *
 * With `delays` (answer-delays.ts), a final `Results` and the `UtteranceEnd`
 * after it go out a planned delay after the double decided the utterance was
 * over, as a real recognizer's finals trail the audio; every message of a
 * session stays in order behind it (answers queue per session).
 *
 * Faults, switched per server: `stall` (takes audio, never answers), `drop`
 * (ends the socket when an utterance starts), `malformed` (answers each
 * utterance with garbage before its Results), `ratelimit` (refuses the upgrade
 * with HTTP 429). A wrong key is refused with 401 by the base.
 */
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { logger } from '../../common/src/logger.js';
import { AnswerDelays, AnswerQueue } from './answer-delays.js';
import { EnergySegmenter } from './energy-segmenter.js';
import { Script, ScriptedUtterance, type ScriptOptions } from './scripted-utterances.js';
import { WsDoubleServer, guardSessionMessages, sendIfOpen, type DoubleSession } from './ws-double-server.js';

export type DeepgramFault = 'none' | 'stall' | 'drop' | 'malformed' | 'ratelimit';

export interface DeepgramDoubleOptions extends ScriptOptions {
  apiKey: string;
  fault?: DeepgramFault;
  host?: string;
  port?: number;
  /** How long finals take (default: profile none, at once). */
  delays?: AnswerDelays;
}

/** What a session heard, for the test to check. */
export interface DeepgramSessionRecord {
  query: Record<string, string>;
  audioBytes: number;
  keepAlives: number;
  finalizes: number;
  closeStreams: number;
  utterances: number;
  /** Final Results sent (after their delay). */
  finalsSent: number;
  closed: boolean;
}

const log = logger('doubles.deepgram');

class DeepgramSession implements DoubleSession {
  readonly record: DeepgramSessionRecord;
  readonly #ws: WebSocket;
  readonly #server: DeepgramDouble;
  readonly #endpointingMs: number;
  /** Finds speech by energy; its clock is the stream's. */
  readonly #segmenter: EnergySegmenter;
  readonly #utterance: ScriptedUtterance;
  /** Everything the session sends, in order, finals after their delay. */
  readonly #answers: AnswerQueue;

  constructor(ws: WebSocket, req: IncomingMessage, server: DeepgramDouble) {
    this.#ws = ws;
    this.#server = server;
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    this.record = { query, audioBytes: 0, keepAlives: 0, finalizes: 0, closeStreams: 0, utterances: 0, finalsSent: 0, closed: false };
    this.#answers = new AnswerQueue(server.delays.timers);
    const rate = Number(query['sample_rate'] ?? 16000);
    this.#segmenter = new EnergySegmenter(query['encoding'] === 'mulaw' ? 'mulaw' : 'linear16', rate, (rms, nowMs) => this.#onChunk(rms, nowMs));
    this.#endpointingMs = Number(query['endpointing'] ?? 10);
    this.#utterance = new ScriptedUtterance(server.script, {
      started: (_text, startMs) => {
        this.record.utterances++;
        if (this.#server.fault === 'drop') {
          this.#ws.terminate();
          return false;
        }
        this.#send({ type: 'SpeechStarted', channel: [0], timestamp: startMs / 1000 });
        return true;
      },
      interim: (words) => this.#send(this.#results(words, false, false, false)),
      silence: (silenceMs) => {
        if (silenceMs >= this.#endpointingMs) this.#final(false);
      },
    });
    guardSessionMessages(ws, { id: 'deepgram', log, label: 'deepgram session' }, (data, isBinary) => this.#onMessage(data, isBinary), () => ws.terminate());
  }

  terminate(): void {
    this.#ws.terminate();
  }

  dispose(): void {
    this.record.closed = true;
    this.#answers.close();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!isBinary) {
      const msg = JSON.parse(buf.toString('utf8')) as { type?: string };
      if (msg.type === 'KeepAlive') this.record.keepAlives++;
      else if (msg.type === 'Finalize') {
        this.record.finalizes++;
        if (this.#utterance.inSpeech) this.#final(true);
      } else if (msg.type === 'CloseStream') {
        this.record.closeStreams++;
        if (this.#utterance.inSpeech) this.#final(true);
        const metadata = JSON.stringify({ type: 'Metadata', request_id: 'double', created: new Date().toISOString(), duration: this.#segmenter.nowMs / 1000, channels: 1 });
        // After the last final, however late it is.
        this.#answers.push(0, () => {
          sendIfOpen(this.#ws, metadata);
          this.#ws.close(1000);
        });
      } else {
        // Deepgram closes on a text frame it does not understand.
        this.#ws.close(1008, 'DATA-0000');
      }
      return;
    }
    this.record.audioBytes += buf.length;
    this.#segmenter.feed(buf);
  }

  #onChunk(rms: number, nowMs: number): void {
    if (this.#server.fault !== 'stall') this.#utterance.onChunk(rms, nowMs);
  }

  #final(fromFinalize: boolean): void {
    this.#utterance.end();
    // Written now (the utterance's times as they are), sent after the final's delay.
    const messages: string[] = [];
    if (this.#server.fault === 'malformed') messages.push('{"type":"Results","channel":', JSON.stringify({ type: 'Mystery', payload: 1 }));
    messages.push(JSON.stringify(this.#results(this.#utterance.text, true, !fromFinalize, fromFinalize)));
    messages.push(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: this.#segmenter.nowMs / 1000 }));
    this.#answers.push(this.#server.delays.plan('deepgramFinal'), () => {
      for (const m of messages) sendIfOpen(this.#ws, m);
      this.record.finalsSent++;
    });
  }

  #results(transcript: string, isFinal: boolean, speechFinal: boolean, fromFinalize: boolean): object {
    const start = this.#utterance.startMs / 1000;
    const end = this.#segmenter.nowMs / 1000;
    const words = transcript.split(' ');
    const step = (end - start) / Math.max(1, words.length);
    return {
      type: 'Results',
      channel_index: [0, 1],
      duration: end - start,
      start,
      is_final: isFinal,
      speech_final: speechFinal,
      from_finalize: fromFinalize,
      channel: {
        alternatives: [
          {
            transcript,
            confidence: 0.98,
            words: words.map((word, i) => ({ word, start: start + i * step, end: start + (i + 1) * step, confidence: 0.98 })),
          },
        ],
      },
      metadata: { request_id: 'double', model_info: { name: this.record.query['model'] ?? 'nova' } },
    };
  }

  #send(msg: object): void {
    const text = JSON.stringify(msg);
    this.#answers.push(0, () => sendIfOpen(this.#ws, text));
  }
}

export class DeepgramDouble extends WsDoubleServer<DeepgramSession> {
  readonly sessions: DeepgramSessionRecord[] = [];
  readonly script: Script;
  readonly delays: AnswerDelays;
  fault: DeepgramFault;

  private constructor(options: DeepgramDoubleOptions) {
    super({ bearer: options.apiKey, authScheme: 'Token', maxPayload: 1 << 20, path: '/v1/listen', name: 'deepgram double', log });
    this.script = new Script(options);
    this.fault = options.fault ?? 'none';
    this.delays = options.delays ?? new AnswerDelays();
  }

  static async start(options: DeepgramDoubleOptions): Promise<DeepgramDouble> {
    const server = new DeepgramDouble(options);
    await server.listen(options.host, options.port);
    return server;
  }

  protected accept(ws: WebSocket, req: IncomingMessage): DeepgramSession {
    const session = new DeepgramSession(ws, req, this);
    this.sessions.push(session.record);
    return session;
  }

  protected override refusal(): number | null {
    return this.fault === 'ratelimit' ? 429 : null;
  }
}
