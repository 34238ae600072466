/**
 * A local double of ElevenLabs' text-to-speech input-streaming WebSocket
 * (https://elevenlabs.io/docs/api-reference/websocket):
 * `/v1/text-to-speech/<voice>/stream-input?model_id=…&output_format=ulaw_8000|pcm_16000`,
 * the key in the `xi-api-key` header (HTTP 401 otherwise). The client begins
 * with `{"text":" ","voice_settings":…}`, sends text (`flush: true` generates
 * now) and ends with `{"text":""}`; the double answers `{"audio":"<base64>",
 * "isFinal":false,"normalizedAlignment":…}` chunks of 100 ms, then
 * `{"isFinal":true}`, and closes with 1000.
 *
 * Like ElevenLabs, it ends a socket that received no text for
 * `inactivity_timeout` seconds (query parameter, default 20): the JSON error
 * `input_timeout_exceeded` (code 1008), then a close with 1008. A single space
 * `{"text":" "}` counts as input (ElevenLabs' documented keep-alive).
 *
 * The audio is a 300 Hz tone, 60 ms per character, in the format asked for.
 * Faults: `stall` (never answers), `drop` (ends the socket after the first
 * chunk), `malformed` (garbage between chunks), `badvoice` (closes with 1008
 * and a reason, as ElevenLabs does for a voice or key it refuses), `ratelimit`
 * (HTTP 429 on the upgrade).
 *
 * With `delays` (answer-delays.ts), the first chunk of a generation goes out a
 * planned delay after the text that asked for it (ElevenLabs' time to first
 * audio) and each later chunk a planned gap after the one before (generation
 * a little faster than real time); `isFinal` and the close follow the last
 * chunk. A session's messages keep their order (answers queue per session).
 */
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { logger } from '../../common/src/logger.js';
import { encodeUlaw } from '../../engine/src/codec/index.js';
import { AnswerDelays, AnswerQueue } from './answer-delays.js';
import { WsDoubleServer, guardSessionMessages, sendIfOpen, type DoubleSession } from './ws-double-server.js';

export type ElevenLabsFault = 'none' | 'stall' | 'drop' | 'malformed' | 'badvoice' | 'ratelimit';

export interface ElevenLabsSessionRecord {
  path: string;
  query: Record<string, string>;
  messages: Array<Record<string, unknown>>;
  chunksSent: number;
  closed: boolean;
  /** Closed by the double for inactivity. */
  timedOut: boolean;
}

const log = logger('doubles.elevenlabs');

class ElevenLabsSession implements DoubleSession {
  readonly record: ElevenLabsSessionRecord;
  readonly #ws: WebSocket;
  readonly #server: ElevenLabsDouble;
  #pending = '';
  #idle: NodeJS.Timeout | null = null;
  readonly #idleMs: number;
  /** Everything the session answers, in order, audio at its planned pace. */
  readonly #answers: AnswerQueue;

  constructor(ws: WebSocket, req: IncomingMessage, server: ElevenLabsDouble) {
    this.#ws = ws;
    this.#server = server;
    const url = new URL(req.url ?? '/', 'http://x');
    this.record = { path: url.pathname, query: Object.fromEntries(url.searchParams.entries()), messages: [], chunksSent: 0, closed: false, timedOut: false };
    this.#idleMs = 1000 * Number(this.record.query['inactivity_timeout'] ?? 20);
    this.#answers = new AnswerQueue(server.delays.timers);
    this.#armIdle();
    guardSessionMessages(ws, { id: 'elevenlabs', log, label: 'elevenlabs session' }, (data, isBinary) => this.#onMessage(data, isBinary), () => ws.terminate());
    if (server.fault === 'badvoice') ws.close(1008, 'voice_id does not exist');
  }

  terminate(): void {
    this.#ws.terminate();
  }

  dispose(): void {
    this.record.closed = true;
    if (this.#idle !== null) clearTimeout(this.#idle);
    this.#answers.close();
  }

  #armIdle(): void {
    if (this.#idle !== null) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      const seconds = this.#idleMs / 1000;
      this.record.timedOut = true;
      sendIfOpen(
        this.#ws,
        JSON.stringify({
          message: `Have not received a new text input within the timeout of ${seconds} seconds. Streaming input terminated.`,
          error: 'input_timeout_exceeded',
          code: 1008,
        }),
      );
      this.#ws.close(1008, 'input_timeout_exceeded');
    }, this.#idleMs);
    this.#idle.unref();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#ws.close(1003, 'binary not accepted');
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const msg = JSON.parse(buf.toString('utf8')) as { text?: string; flush?: boolean };
    this.record.messages.push(msg as Record<string, unknown>);
    if (typeof msg.text === 'string') this.#armIdle();
    if (this.#server.fault === 'stall') return;
    if (typeof msg.text !== 'string') {
      this.#answers.push(0, () => sendIfOpen(this.#ws, JSON.stringify({ message: 'text is required', error: 'invalid_request', code: 1008 })));
      return;
    }
    if (msg.text === '') {
      this.#generate();
      // After the last chunk, however late it goes out.
      this.#answers.push(0, () => {
        sendIfOpen(this.#ws, JSON.stringify({ isFinal: true }));
        this.#ws.close(1000);
      });
      return;
    }
    this.#pending += msg.text;
    if (msg.flush === true) this.#generate();
  }

  #generate(): void {
    const text = this.#pending.trim();
    this.#pending = '';
    if (text === '') return;
    const ulaw = this.record.query['output_format'] === 'ulaw_8000';
    const rate = ulaw ? 8000 : 16000;
    const total = Math.round((text.length * 60 * rate) / 1000);
    const chunk = rate / 10;
    const delays = this.#server.delays;
    for (let at = 0; at < total; at += chunk) {
      const n = Math.min(chunk, total - at);
      const pcm = new Int16Array(n);
      for (let i = 0; i < n; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * (at + i)) / rate));
      let bytes: Buffer;
      if (ulaw) {
        bytes = Buffer.alloc(n);
        encodeUlaw(pcm, n, bytes, 0);
      } else {
        bytes = Buffer.alloc(2 * n);
        for (let i = 0; i < n; i++) bytes.writeInt16LE(pcm[i]!, 2 * i);
      }
      const message = JSON.stringify({ audio: bytes.toString('base64'), isFinal: false, normalizedAlignment: { chars: [], charStartTimesMs: [], charsDurationsMs: [] } });
      this.#answers.push(delays.plan(at === 0 ? 'elevenlabsFirstAudio' : 'elevenlabsChunkGap'), () => this.#sendChunk(message));
    }
  }

  #sendChunk(message: string): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(message);
    this.record.chunksSent++;
    if (this.#server.fault === 'drop') {
      this.#answers.close();
      this.#ws.terminate();
      return;
    }
    if (this.#server.fault === 'malformed') sendIfOpen(this.#ws, '{"audio": 42');
  }
}

export class ElevenLabsDouble extends WsDoubleServer<ElevenLabsSession> {
  readonly sessions: ElevenLabsSessionRecord[] = [];
  fault: ElevenLabsFault = 'none';
  refusedKeys = 0;
  readonly delays: AnswerDelays;
  readonly #key: string;

  private constructor(apiKey: string, delays: AnswerDelays) {
    super({ maxPayload: 1 << 20, path: '', name: 'elevenlabs double', log });
    this.#key = apiKey;
    this.delays = delays;
  }

  static async start(options: { apiKey: string; /** How long audio takes (default: profile none, at once). */ delays?: AnswerDelays }): Promise<ElevenLabsDouble> {
    const d = new ElevenLabsDouble(options.apiKey, options.delays ?? new AnswerDelays());
    await d.listen(undefined, undefined);
    return d;
  }

  /** Ends every connected socket at once (a network drop). */
  dropAll(): void {
    for (const session of this.live) session.terminate();
  }

  protected accept(ws: WebSocket, req: IncomingMessage): ElevenLabsSession {
    const s = new ElevenLabsSession(ws, req, this);
    this.sessions.push(s.record);
    return s;
  }

  protected override refusal(req: IncomingMessage): number | null {
    if (req.headers['xi-api-key'] !== this.#key) {
      this.refusedKeys++;
      return 401;
    }
    return this.fault === 'ratelimit' ? 429 : null;
  }
}
