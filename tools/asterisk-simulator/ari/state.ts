/**
 * The simulated Asterisk's shared state (channels, bridges, phones) and the
 * primitives every flow uses: send an event to the channel's app, leave a
 * bridge, remove a channel. The flows themselves live in dialer.ts,
 * channel-ops.ts and bridge-ops.ts.
 */
import { randomInt } from 'node:crypto';
import { ev, type AriEvent } from './events.js';
import { MediaPlane, type AudioSink, type AudioSource, type LegTopology } from './media.js';
import { asteriskTime, type CallerId, type ChannelKind, type SimBridge, type SimChannel } from './model.js';
import type { PhoneAudio } from './phones.js';
import type { Reply } from './reply.js';
import type { AppRegistry } from './websocket.js';
import { WebSocketMediaPlane } from './websocket-media.js';

/**
 * When a request's events go relative to its response. `recorded`: response
 * first, as in most runs; `events-first`: the racing order real Asterisk also
 * allows (StasisStart of an originated or externalMedia channel before the POST
 * returns, hangup events before the 204); `random`: a coin flip per request.
 */
export type EventOrder = 'recorded' | 'events-first' | 'random';

export interface CoreOptions {
  readonly eventOrder: EventOrder;
  readonly bindAddress: string;
  readonly maxHeardSeconds: number;
  /** Delay before the first Dial event of an originate (recorded 2–6 ms). */
  readonly dialDelayMs: number;
  /** How many ended phones keep their recording (oldest dropped first). */
  readonly retainEndedPhones: number;
  /** How long a WebSocket externalMedia channel waits for its client before the dial gives up. */
  readonly mediaConnectTimeoutMs: number;
  /** Recorded order: how long after its 200 an RTP externalMedia channel enters Stasis (recorded 1–2 ms). */
  readonly externalMediaStasisDelayMs: number;
}

/** What the WebSocket media plane tells the channel flows (set by ChannelOps). */
export interface WebSocketMediaHandlers {
  connected(channelId: string): void;
  disconnected(channelId: string, cause: number): void;
  connectTimeout(channelId: string): void;
  hangupCommand(channelId: string): void;
}

export interface NewChannel {
  readonly id: string;
  readonly name: string;
  readonly kind: ChannelKind;
  readonly protocolId: string;
  readonly app: string;
  readonly endpoint: string;
  readonly state: SimChannel['state'];
  readonly caller: CallerId;
  readonly dialplan: SimChannel['dialplan'];
}

export class SimState {
  readonly channels = new Map<string, SimChannel>();
  readonly bridges = new Map<string, SimBridge>();
  /** Phone audio by channel id; kept after the channel ends (bounded) so tests can read it. */
  readonly phones = new Map<string, PhoneAudio>();
  readonly apps: AppRegistry;
  readonly media: MediaPlane;
  readonly wsMedia: WebSocketMediaPlane;
  readonly opts: CoreOptions;
  /** Set by ChannelOps: what a WebSocket externalMedia channel does when its client connects, leaves, or never comes. */
  wsMediaHandlers: WebSocketMediaHandlers | null = null;
  /** Told when a channel is removed, so pending dial timers are dropped with it. */
  onRemove: (ch: SimChannel) => void = () => undefined;
  closed = false;
  /** Ended phones kept for inspection, oldest first. Ids are reused (chan_<PAIR_ID>_B), so the phone object is kept too. */
  readonly #endedPhones: Array<{ id: string; phone: PhoneAudio }> = [];
  #nameCounter = 0;
  #uniqueCounter = 0;

  constructor(apps: AppRegistry, opts: CoreOptions) {
    this.apps = apps;
    this.opts = opts;
    this.media = new MediaPlane({ bindAddress: opts.bindAddress, topology: (id) => this.#topology(id) });
    this.wsMedia = new WebSocketMediaPlane({
      topology: (id) => this.#topology(id),
      connectTimeoutMs: opts.mediaConnectTimeoutMs,
      onConnected: (id) => this.wsMediaHandlers?.connected(id),
      onDisconnected: (id, cause) => this.wsMediaHandlers?.disconnected(id, cause),
      onConnectTimeout: (id) => this.wsMediaHandlers?.connectTimeout(id),
      onHangupCommand: (id) => this.wsMediaHandlers?.hangupCommand(id),
    });
  }

  /** Whether this request's events go before its response (see EventOrder). */
  eventsFirst(): boolean {
    switch (this.opts.eventOrder) {
      case 'recorded':
        return false;
      case 'events-first':
        return true;
      case 'random':
        return randomInt(0, 2) === 1;
    }
  }

  /**
   * Runs `fn`, whose events belong to `reply`, and places them before or after
   * the response by the event order (recorded: the response first, then the
   * events within about 1 ms).
   */
  ordered(reply: Reply, fn: () => void): Reply {
    const events = this.apps.capture(fn);
    if (this.eventsFirst()) {
      events.flush();
      return { ...reply, eventsFirst: true };
    }
    return { ...reply, afterResponse: events.flush };
  }

  /** Sends to the channel's app while it is subscribed (a dialplan caller stops being so at StasisEnd). */
  emit(ch: SimChannel, event: AriEvent): void {
    if (ch.subscribed) this.apps.send(ch.app, event);
  }

  newChannel(init: NewChannel): SimChannel {
    return {
      ...init,
      creationtime: asteriskTime(),
      connected: { name: '', number: '' },
      inStasis: false,
      subscribed: false,
      vars: new Map(),
      bridgeId: undefined,
      muteIn: false,
      muteOut: false,
      external: undefined,
      hungUp: false,
    };
  }

  /** `<epoch seconds>.<counter>`, like Asterisk's uniqueid. */
  uniqueId(): string {
    return `${Math.floor(Date.now() / 1000)}.${this.#uniqueCounter++}`;
  }

  pjsipName(resource: string): string {
    return `PJSIP/${resource}-${(this.#nameCounter++).toString(16).padStart(8, '0')}`;
  }

  /** Leaves the channel's bridge with a ChannelLeftBridge (bridge snapshot without the channel). */
  leaveBridge(ch: SimChannel): void {
    const br = this.#detach(ch);
    if (br) this.emit(ch, ev.leftBridge(br, ch));
  }

  /** Removes a channel for good: out of its bridge, its media leg closed, its dial timers dropped. */
  remove(ch: SimChannel): void {
    if (this.channels.get(ch.id) === ch && this.phones.has(ch.id)) this.retirePhone(ch.id);
    ch.hungUp = true;
    this.#detach(ch);
    this.channels.delete(ch.id);
    if (ch.external?.transport === 'rtp') this.media.closeLeg(ch.id);
    else if (ch.external?.transport === 'websocket') this.wsMedia.closeLeg(ch.id);
    this.onRemove(ch);
  }

  retirePhone(channelId: string): void {
    const phone = this.phones.get(channelId);
    if (phone === undefined) return;
    this.#endedPhones.push({ id: channelId, phone });
    while (this.#endedPhones.length > this.opts.retainEndedPhones) {
      const oldest = this.#endedPhones.shift();
      // Only if that id still means the ended phone: a new call may reuse the id.
      if (oldest !== undefined && this.phones.get(oldest.id) === oldest.phone) this.phones.delete(oldest.id);
    }
  }

  /** Observed: once an externalMedia channel shares a two-party bridge with a phone, it gets the phone's caller id. */
  updateConnectedLine(br: SimBridge): void {
    if (br.channelIds.length !== 2) return;
    const [a, b] = br.channelIds.map((id) => this.channels.get(id));
    if (!a || !b) return;
    for (const [em, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      if (em.kind !== 'external' || peer.kind === 'external') continue;
      if (em.connected.name === peer.caller.name && em.connected.number === peer.caller.number) continue;
      em.connected = { ...peer.caller };
      this.emit(em, ev.connectedLine(em));
    }
  }

  close(): void {
    this.closed = true;
    this.media.close();
    this.wsMedia.close();
    this.channels.clear();
    this.bridges.clear();
  }

  #detach(ch: SimChannel): SimBridge | undefined {
    if (ch.bridgeId === undefined) return undefined;
    const br = this.bridges.get(ch.bridgeId);
    ch.bridgeId = undefined;
    if (!br) return undefined;
    const i = br.channelIds.indexOf(ch.id);
    if (i >= 0) br.channelIds.splice(i, 1);
    return br;
  }

  /** Which phones an externalMedia leg carries audio from and delivers audio to. */
  #topology(channelId: string): LegTopology {
    const em = this.channels.get(channelId);
    const br = em?.bridgeId !== undefined ? this.bridges.get(em.bridgeId) : undefined;
    if (!br) return { sources: [], sinks: [] };
    const sources: AudioSource[] = [];
    const sinks: AudioSink[] = [];
    for (const id of br.channelIds) {
      const ch = this.channels.get(id);
      const phone = this.phones.get(id);
      if (!ch || !phone || ch.kind === 'external' || ch.state !== 'Up') continue;
      if (!ch.muteIn && phone.source) sources.push(phone.source);
      if (!ch.muteOut) sinks.push(phone);
    }
    return { sources, sinks };
  }
}
