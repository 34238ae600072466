/**
 * externalMedia, as chan_rtp (UnicastRTP, recorded in s4/s6) and chan_websocket (server connections) create it:
 * status codes and bodies of the recordings, the channel entering Stasis after (or, in events-first order, before)
 * the response, and the WebSocket media plane's news about its channels.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { ev } from './events.js';
import { isMediaFormat } from './media.js';
import { channelJson, outgoingLine, type MediaFormat } from './model.js';
import type { RequestParams } from './params.js';
import { fail, ok, type Reply } from './reply.js';
import { answerIntoStasis, hangupInStasis } from './stasis-lifecycle.js';
import type { SimState } from './state.js';
import { optimalFrameSize as optimalWebSocketFrameSize } from './websocket-media.js';

/** What Asterisk answers (500) when externalMedia fails inside: a bad IP, an unknown format, a duplicate id. */
const INTERNAL_ERROR = 'An internal error prevented this request from being handled';

export class ExternalMediaOps {
  readonly #state: SimState;
  readonly #holds = new Set<NodeJS.Timeout>();

  constructor(state: SimState) {
    this.#state = state;
    state.wsMediaHandlers = {
      connected: (id) => this.#onWebSocketConnected(id),
      disconnected: (id, cause) => this.#onWebSocketGone(id, cause),
      connectTimeout: (id) => this.#onWebSocketTimeout(id),
      hangupCommand: (id) => this.#onWebSocketGone(id, 16),
    };
  }

  externalMedia(p: RequestParams): Reply | Promise<Reply> {
    const app = p.get('app');
    if (app === undefined) return fail(400, 'app cannot be empty');
    const transport = p.get('transport') ?? 'udp';
    const encapsulation = p.get('encapsulation') ?? 'rtp';
    const connectionType = p.get('connection_type') ?? 'client';
    const hostPort = p.get('external_host');
    const websocketServer = transport === 'websocket' && connectionType === 'server';
    if (hostPort === undefined && !websocketServer) return fail(400, 'external_host is required for all but websocket server connections');
    const format = p.get('format');
    if (format === undefined) return fail(400, 'format cannot be empty');
    if (transport === 'websocket' && encapsulation === 'none') {
      if (!websocketServer) return fail(501, 'The simulator implements websocket externalMedia with connection_type=server only');
      return this.#externalMediaWebSocket(p, app, format);
    }
    if (transport !== 'udp' || encapsulation !== 'rtp' || hostPort === undefined) {
      return fail(501, 'The simulator implements encapsulation=rtp over transport=udp and encapsulation=none over transport=websocket');
    }
    return this.#externalMediaRtp(p, app, format, hostPort);
  }

  async #externalMediaRtp(p: RequestParams, app: string, format: string, hostPort: string): Promise<Reply> {
    const s = this.#state;
    const m = /^(.+):(\d{1,5})$/.exec(hostPort);
    const port = Number(m?.[2]);
    if (!m?.[1] || !(port >= 1 && port <= 65535)) {
      return fail(400, 'external_host must be <host>:<port> for all transports other than websocket');
    }
    const host = m[1];
    // Observed: a bad IP, an unknown format and a duplicate id all answer 500 with the generic text.
    if (!isIPv4(host) && host !== 'localhost') return fail(500, INTERNAL_ERROR);
    if (!isMediaFormat(format)) return fail(500, INTERNAL_ERROR);
    const requestedId = p.get('channelId');
    if (requestedId !== undefined && s.channels.has(requestedId)) return fail(500, INTERNAL_ERROR);
    const id = requestedId ?? s.uniqueId();
    const localPort = await s.media.openLeg(id, host, port, format);
    // The bind awaited: the simulator may have closed, or the id been taken, meanwhile.
    if (s.closed || s.channels.has(id)) {
      if (!s.closed) s.media.closeLeg(id);
      return fail(500, INTERNAL_ERROR);
    }
    const ch = s.newChannel({
      id,
      name: `UnicastRTP/${host}:${port}-0x7f${randomBytes(5).toString('hex')}`,
      kind: 'external',
      protocolId: '',
      app,
      endpoint: `${host}:${port}`,
      state: 'Down',
      caller: { name: '', number: '' },
      dialplan: outgoingLine('default'),
    });
    ch.external = { transport: 'rtp', host, port, format, localAddress: s.opts.bindAddress, localPort };
    ch.vars.set('UNICASTRTP_LOCAL_ADDRESS', s.opts.bindAddress);
    ch.vars.set('UNICASTRTP_LOCAL_PORT', String(localPort));
    for (const [k, v] of Object.entries(p.variables ?? {})) ch.vars.set(k, v);
    const body = channelJson(ch, true);
    if (!s.apps.isConnected(app)) {
      // Observed (s6): 200, but with no WebSocket for the app the channel is already gone.
      s.media.closeLeg(id);
      return ok(body);
    }
    s.channels.set(id, ch);
    ch.subscribed = true;
    // chan_rtp answers at once (rtp_call queues ANSWER), so the channel enters Stasis right away —
    // but not necessarily before the 200: recorded (s4), the response came first and Dial … StasisStart
    // 1–2 ms after it, and a bridges/addChannel sent in that gap is refused with 422 "Channel not in
    // Stasis application" (6 % of calls on a real Asterisk, docs/asterisk-facts.md). So in the recorded
    // order the channel is outside Stasis until `externalMediaStasisDelayMs` after the response.
    const dialstring = `${host}:${port}/c(${format})`;
    const enter = (): void => {
      if (ch.hungUp || s.closed) return;
      s.emit(ch, ev.dial(ch, '', dialstring));
      answerIntoStasis(s, ch, dialstring);
    };
    if (s.eventsFirst()) {
      s.apps.capture(enter).flush();
      return { ...ok(body), eventsFirst: true };
    }
    return { ...ok(body), afterResponse: () => this.#after(s.opts.externalMediaStasisDelayMs, enter) };
  }

  /** Runs `fn` after `ms` unless the simulator closes first. */
  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#holds.delete(t);
      fn();
    }, ms);
    this.#holds.add(t);
  }

  /**
   * chan_websocket, waiting for its client (not observed in recordings; from channels/chan_websocket.c and
   * docs/asterisk-facts.md): the channel is dialled at once but answered only when a client connects to
   * /media/<MEDIA_WEBSOCKET_CONNECTION_ID>, so its StasisStart comes then. Nobody connecting ends the dial
   * at the originate timeout like an unanswered originate (ChannelDestroyed 19).
   */
  #externalMediaWebSocket(p: RequestParams, app: string, format: string): Reply {
    const s = this.#state;
    if (!isMediaFormat(format)) return fail(500, INTERNAL_ERROR);
    const requestedId = p.get('channelId');
    if (requestedId !== undefined && s.channels.has(requestedId)) return fail(500, INTERNAL_ERROR);
    const id = requestedId ?? s.uniqueId();
    const connectionId = randomUUID();
    const ch = s.newChannel({
      id,
      name: `WebSocket/INCOMING/0x7f${randomBytes(5).toString('hex')}`,
      kind: 'external',
      protocolId: '',
      app,
      endpoint: 'INCOMING',
      state: 'Down',
      caller: { name: '', number: '' },
      dialplan: outgoingLine('default'),
    });
    const optimalFrameSize = optimalWebSocketFrameSize(format);
    ch.external = { transport: 'websocket', format, connectionId, optimalFrameSize };
    ch.vars.set('MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE', String(optimalFrameSize));
    ch.vars.set('MEDIA_WEBSOCKET_CONNECTION_ID', connectionId);
    for (const [k, v] of Object.entries(p.variables ?? {})) ch.vars.set(k, v);
    const body = channelJson(ch, true);
    if (!s.apps.isConnected(app)) return ok(body);
    s.channels.set(id, ch);
    ch.subscribed = true;
    s.wsMedia.openLeg(id, ch.name, connectionId, format);
    return s.ordered(ok(body), () => s.emit(ch, ev.dial(ch, '', webSocketDialstring(format))));
  }

  /** The WebSocket media plane's news about a chan_websocket channel (wired in the constructor). */
  #onWebSocketConnected(channelId: string): void {
    const ch = this.#state.channels.get(channelId);
    if (!ch || ch.hungUp || ch.external?.transport !== 'websocket') return;
    // Auto-answer on connection, which completes the dial: the channel enters Stasis.
    answerIntoStasis(this.#state, ch, webSocketDialstring(ch.external.format));
  }

  #onWebSocketGone(channelId: string, cause: number): void {
    const ch = this.#state.channels.get(channelId);
    if (!ch || ch.hungUp) return;
    hangupInStasis(this.#state, ch, { byPhone: false, cause, requestCause: cause });
  }

  #onWebSocketTimeout(channelId: string): void {
    const ch = this.#state.channels.get(channelId);
    if (!ch || ch.hungUp || ch.inStasis) return;
    this.#state.emit(ch, ev.destroyed(ch, 19));
    this.#state.remove(ch);
  }

  /** Cancels the delayed Stasis entries still pending. */
  close(): void {
    for (const t of this.#holds) clearTimeout(t);
    this.#holds.clear();
  }
}

/** The dial string of a WebSocket externalMedia channel (as `Dial` events show it; its exact text is not recorded). */
function webSocketDialstring(format: MediaFormat): string {
  return `INCOMING/c(${format})`;
}
