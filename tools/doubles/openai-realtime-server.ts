/**
 * A local stand-in for an OpenAI-Realtime-compatible service, for tests and
 * demos on 127.0.0.1.
 *
 * IT IS NOT A MODEL: IT UNDERSTANDS, TRANSLATES AND SAYS NOTHING OF SUBSTANCE.
 * It speaks the wire protocol honestly so the client can be tested against
 * it: it validates what the client sends (session.update shape, 24 kHz pcm
 * format, base64 audio of whole samples, event order), finds utterances by
 * energy alone (server_vad) or takes the client's commits, and answers each
 * with a "transcript" and a spoken "translation" that only name the
 * utterance's number and duration ("utterance 2, 1.4 s"), spoken by espeak-ng
 * (or a plain tone) at 24 kHz and streamed as several
 * `response.output_audio.delta` events. It records what each session received,
 * can require a bearer key (HTTP 401 otherwise), and has fault switches:
 * stall (stop reading and answering), garbage, dropped connections.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { logger } from '../../common/src/logger.js';
import { WsDoubleServer } from './ws-double-server.js';
import { LocalSession, type LocalSessionRecord, type OpenAiRealtimeLocalServerOptions } from './openai-realtime-session.js';
import { REALTIME_SAMPLE_RATE } from '../../engine/src/pipeline/providers/openai-realtime/protocol.js';

export type { LocalSessionRecord, LocalUtterance, OpenAiRealtimeLocalServerOptions } from './openai-realtime-session.js';

const log = logger('pipeline.openai-realtime-local');

export class OpenAiRealtimeLocalServer extends WsDoubleServer<LocalSession> {
  readonly sessions: LocalSessionRecord[] = [];
  readonly #options: OpenAiRealtimeLocalServerOptions;
  #stalled = false;
  #nextId = 1;

  private constructor(options: OpenAiRealtimeLocalServerOptions) {
    super({ bearer: options.apiKey, maxPayload: 4 * 1024 * 1024, path: '/v1/realtime', name: 'local server', log });
    this.#options = options;
  }

  /** Listens on host:port (default 127.0.0.1, an ephemeral port); its url is ws://host:port/v1/realtime. */
  static async start(options: OpenAiRealtimeLocalServerOptions = {}): Promise<OpenAiRealtimeLocalServer> {
    const server = new OpenAiRealtimeLocalServer(options);
    await server.listen(options.host, options.port);
    log.info({ url: server.url }, 'openai realtime local server listening (a protocol double, not a model)');
    return server;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  /** Fault: stop reading and answering on every session, present and future, until stall(false). */
  stall(on = true): void {
    this.#stalled = on;
    for (const s of this.live) s.setStalled(on);
  }

  /** Fault: terminates every live connection (no close handshake). */
  dropConnections(): void {
    for (const s of [...this.live]) s.terminate();
  }

  /** Sends a raw text (or binary) message to every live session. */
  sendRaw(data: string | Buffer): void {
    for (const s of this.live) s.sendRaw(data);
  }

  /**
   * Fault: sends one of each kind of bad message to every live session, in
   * this order, and returns the protocol error codes a correct client reports
   * for them.
   */
  sendGarbage(): string[] {
    const garbage: Array<[string | Buffer, string]> = [
      ['this is not json', 'not_json'],
      ['[1,2,3]', 'invalid_message'],
      ['{"no_type":true}', 'invalid_message'],
      ['{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":42}', 'invalid_message'],
      ['{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"not base64!"}', 'invalid_message'],
      ['{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"AAAA"}', 'odd_length_audio'],
      [Buffer.from([1, 2, 3]), 'unexpected_binary'],
    ];
    for (const [data] of garbage) this.sendRaw(data);
    return garbage.map(([, code]) => code);
  }

  protected accept(ws: WebSocket, req: IncomingMessage): LocalSession {
    const model = new URL(req.url ?? '/', 'http://local').searchParams.get('model');
    const capacity = Math.round((this.#options.captureSeconds ?? 30) * REALTIME_SAMPLE_RATE);
    const record: LocalSessionRecord = {
      id: `sess_local_${this.#nextId++}`,
      model,
      sessionUpdates: [],
      turnDetection: 'server_vad',
      appends: 0,
      samplesReceived: 0,
      capture: new Int16Array(capacity),
      capturedSamples: 0,
      commits: 0,
      responseCreates: 0,
      cancels: 0,
      clears: 0,
      utterances: [],
      invalid: [],
      closed: false,
    };
    this.sessions.push(record);
    return new LocalSession(ws, record, this.#options, this.#stalled);
  }
}
