/**
 * The simulated Asterisk behind the HTTP layer: the handler table the router
 * dispatches to, and the phone-side API tests drive. The flows live in
 * channel-ops.ts, bridge-ops.ts and dialer.ts over the shared SimState.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidStateError } from '../../../common/src/errors.js';
import { BridgeOps } from './bridge-ops.js';
import { ChannelOps, type PlaceCallOptions, type PlacedCall } from './channel-ops.js';
import type { OperationId } from './description.js';
import { Dialer } from './dialer.js';
import type { AudioSource, MediaLegStats } from './media.js';
import { asteriskTime, type BridgeJson, type ChannelKind, type SimChannel } from './model.js';
import type { RequestParams } from './params.js';
import type { EndpointConfig, HeardChunk } from './phones.js';
import { fail, ok, type Reply } from './reply.js';
import { SimState, type CoreOptions } from './state.js';
import type { AppRegistry } from './websocket.js';
import type { MediaRefusal } from './websocket-media.js';

export type { CoreOptions, EventOrder } from './state.js';
export type { PlaceCallOptions, PlacedCall } from './channel-ops.js';

export interface ChannelSnapshot {
  readonly id: string;
  readonly name: string;
  readonly kind: ChannelKind;
  readonly state: SimChannel['state'];
  readonly app: string;
  readonly inStasis: boolean;
  readonly bridgeId: string | undefined;
  readonly muteIn: boolean;
  readonly muteOut: boolean;
  readonly vars: Readonly<Record<string, string>>;
  readonly localPort: number | undefined;
}

export type Handler = (params: RequestParams) => Reply | Promise<Reply>;

export class AsteriskCore {
  readonly endpoints = new Map<string, EndpointConfig>();
  readonly #state: SimState;
  readonly #dialer: Dialer;
  readonly #channelOps: ChannelOps;
  readonly #bridgeOps: BridgeOps;
  readonly #startTime = asteriskTime();

  constructor(apps: AppRegistry, opts: CoreOptions) {
    this.#state = new SimState(apps, opts);
    this.#dialer = new Dialer(this.#state);
    this.#state.onRemove = (ch) => this.#dialer.settle(ch.id);
    this.#channelOps = new ChannelOps(this.#state, this.#dialer, this.endpoints);
    this.#bridgeOps = new BridgeOps(this.#state);
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  readonly handlers: Readonly<Record<Exclude<OperationId, 'events.eventWebsocket'>, Handler>> = {
    'asterisk.getInfo': (p) => this.#asteriskInfo(p),
    'channels.list': () => this.#channelOps.list(),
    'channels.originate': (p) => this.#channelOps.originate(p, p.get('channelId')),
    'channels.originateWithId': (p) => this.#channelOps.originate(p, p.path['channelId']),
    'channels.externalMedia': (p) => this.#channelOps.externalMedia(p),
    'channels.get': (p) => this.#channelOps.get(p),
    'channels.hangup': (p) => this.#channelOps.hangup(p),
    'channels.answer': (p) => this.#channelOps.answer(p),
    'channels.getChannelVar': (p) => this.#channelOps.getVar(p),
    'channels.setChannelVar': (p) => this.#channelOps.setVar(p),
    'channels.mute': (p) => this.#channelOps.mute(p, true),
    'channels.unmute': (p) => this.#channelOps.mute(p, false),
    'bridges.list': () => ok(this.#bridgeOps.list()),
    'bridges.create': (p) => this.#bridgeOps.create(p, p.get('bridgeId')),
    'bridges.createWithId': (p) => this.#bridgeOps.create(p, p.path['bridgeId']),
    'bridges.get': (p) => this.#bridgeOps.get(p),
    'bridges.destroy': (p) => this.#bridgeOps.destroy(p),
    'bridges.addChannel': (p) => this.#bridgeOps.addChannels(p),
    'bridges.removeChannel': (p) => this.#bridgeOps.removeChannels(p),
    'applications.list': () => ok(this.#state.apps.appNames().map((n) => this.#applicationJson(n))),
    'applications.get': (p) => {
      const name = p.path['applicationName'] ?? '';
      return this.#state.apps.appNames().includes(name) ? ok(this.#applicationJson(name)) : fail(404, 'Application not found');
    },
  };

  // --- the phone side and snapshots, for tests -----------------------------------

  placeCall(opts: PlaceCallOptions): PlacedCall {
    this.#assertOpen();
    return this.#channelOps.placeCall(opts);
  }

  phoneHangup(channelId: string): boolean {
    this.#assertOpen();
    return this.#channelOps.phoneHangup(channelId);
  }

  channels(): ChannelSnapshot[] {
    return [...this.#state.channels.values()].map((ch) => ({
      id: ch.id,
      name: ch.name,
      kind: ch.kind,
      state: ch.state,
      app: ch.app,
      inStasis: ch.inStasis,
      bridgeId: ch.bridgeId,
      muteIn: ch.muteIn,
      muteOut: ch.muteOut,
      vars: Object.fromEntries(ch.vars),
      localPort: ch.external?.transport === 'rtp' ? ch.external.localPort : undefined,
    }));
  }

  bridges(): BridgeJson[] {
    return this.#bridgeOps.list();
  }

  /** What a phone channel has heard so far (kept after it hangs up, within `retainEndedPhones`). */
  heard(channelId: string): readonly HeardChunk[] {
    return this.#state.phones.get(channelId)?.heard() ?? [];
  }

  setAudio(channelId: string, source: AudioSource | undefined): void {
    const phone = this.#state.phones.get(channelId);
    if (!phone) throw new RangeError(`no phone channel ${channelId}`);
    phone.source = source;
  }

  mediaStats(channelId: string): MediaLegStats | undefined {
    return this.#state.media.stats(channelId) ?? this.#state.wsMedia.stats(channelId);
  }

  /** An upgrade to `/media/<connectionId>` (chan_websocket): null when accepted, else Asterisk's refusal. */
  acceptMedia(req: IncomingMessage, socket: Duplex, head: Buffer, connectionId: string): MediaRefusal | null {
    if (this.#state.closed) return { status: 503, reason: 'Service Unavailable', text: 'shutting down' };
    return this.#state.wsMedia.accept(req, socket, head, connectionId);
  }

  close(): void {
    if (this.#state.closed) return;
    this.#channelOps.close();
    this.#state.close();
    this.#dialer.close();
  }

  #applicationJson(name: string): object {
    const s = this.#state;
    return {
      name,
      channel_ids: [...s.channels.values()].filter((c) => c.app === name && c.subscribed).map((c) => c.id),
      bridge_ids: [...s.bridges.values()].filter((b) => b.apps.has(name)).map((b) => b.id),
      endpoint_ids: [],
      device_names: [],
      events_allowed: [],
      events_disallowed: [],
    };
  }

  #asteriskInfo(p: RequestParams): Reply {
    const all: Record<string, unknown> = {
      build: { os: 'Linux', kernel: 'simulated', machine: 'x86_64', options: 'OPTIONAL_API', date: this.#startTime, user: 'root' },
      system: { version: '22.10.1', entity_id: '02:fc:00:00:00:01' },
      config: { name: '', default_language: 'en', setid: { user: '', group: '' } },
      status: { startup_time: this.#startTime, last_reload_time: this.#startTime },
    };
    const only = p.all('only');
    return ok(only.length === 0 ? all : Object.fromEntries(Object.entries(all).filter(([k]) => only.includes(k))));
  }

  #assertOpen(): void {
    if (this.#state.closed) throw new InvalidStateError('simulator is closed');
  }
}
