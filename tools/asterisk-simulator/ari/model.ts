/**
 * Channel and bridge state, and their JSON as Asterisk 22.10.1 renders it
 * (field order and values copied from the recordings in test/data/asterisk/).
 */

export type ChannelState = 'Down' | 'Ringing' | 'Up';
/** caller: entered Stasis from the dialplan; originated: POST /channels; external: POST /channels/externalMedia. */
export type ChannelKind = 'caller' | 'originated' | 'external';

export interface CallerId {
  name: string;
  number: string;
}

export interface DialplanLocation {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export interface ChannelJson {
  id: string;
  name: string;
  state: ChannelState;
  protocol_id: string;
  caller: CallerId;
  connected: CallerId;
  accountcode: string;
  dialplan: DialplanLocation;
  creationtime: string;
  language: string;
  channelvars?: Record<string, string>;
}

export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

/** A UnicastRTP externalMedia channel (chan_rtp): RTP to host:port from localAddress:localPort. */
export interface RtpExternalMedia {
  readonly transport: 'rtp';
  readonly host: string;
  readonly port: number;
  readonly format: MediaFormat;
  readonly localAddress: string;
  readonly localPort: number;
}

/** A chan_websocket externalMedia channel waiting for (or holding) a client at /media/<connectionId>. */
export interface WebSocketExternalMedia {
  readonly transport: 'websocket';
  readonly format: MediaFormat;
  readonly connectionId: string;
  /** Bytes per 20 ms frame (MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE). */
  readonly optimalFrameSize: number;
}

export type ExternalMediaInfo = RtpExternalMedia | WebSocketExternalMedia;

export type MediaFormat = 'ulaw' | 'alaw' | 'slin16';

export interface SimChannel {
  readonly id: string;
  readonly name: string;
  readonly kind: ChannelKind;
  readonly protocolId: string;
  readonly creationtime: string;
  /** The Stasis application this channel belongs to. */
  readonly app: string;
  /** The endpoint resource (e.g. `7001`) for phone channels. */
  readonly endpoint: string;
  state: ChannelState;
  caller: CallerId;
  connected: CallerId;
  dialplan: DialplanLocation;
  /** Whether the channel is currently in the Stasis application. */
  inStasis: boolean;
  /** Whether the app still receives this channel's events (originated/external stay subscribed after StasisEnd). */
  subscribed: boolean;
  readonly vars: Map<string, string>;
  bridgeId: string | undefined;
  muteIn: boolean;
  muteOut: boolean;
  external: ExternalMediaInfo | undefined;
  hungUp: boolean;
}

export interface SimBridge {
  readonly id: string;
  readonly name: string;
  readonly bridgeType: 'mixing' | 'holding';
  readonly creationtime: string;
  readonly channelIds: string[];
  /** Apps that got a channel into this bridge: they receive its events (BridgeDestroyed). */
  readonly apps: Set<string>;
}

/** Asterisk's timestamp format: `2026-11-23T01:08:24.927+0000`. */
let lastMs = NaN;
let lastText = '';

export function asteriskTime(date?: Date): string {
  if (date) return date.toISOString().replace('Z', '+0000');
  // Every event carries a timestamp: within one millisecond the text is the same.
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastText = new Date(ms).toISOString().replace('Z', '+0000');
  }
  return lastText;
}

export function channelJson(ch: SimChannel, withChannelVars = false): ChannelJson {
  const json: ChannelJson = {
    id: ch.id,
    name: ch.name,
    state: ch.state,
    protocol_id: ch.protocolId,
    caller: { ...ch.caller },
    connected: { ...ch.connected },
    accountcode: '',
    dialplan: { ...ch.dialplan },
    creationtime: ch.creationtime,
    language: 'en',
  };
  if (withChannelVars && ch.external?.transport === 'rtp') {
    // Order as recorded: PORT first, then ADDRESS.
    json.channelvars = {
      UNICASTRTP_LOCAL_PORT: String(ch.external.localPort),
      UNICASTRTP_LOCAL_ADDRESS: ch.external.localAddress,
    };
  } else if (withChannelVars && ch.external?.transport === 'websocket') {
    // chan_websocket sets OPTIMAL_FRAME_SIZE, then CONNECTION_ID; Asterisk lists the newest variable first
    // (as the recorded UNICASTRTP pair shows: ADDRESS is set before PORT).
    json.channelvars = {
      MEDIA_WEBSOCKET_CONNECTION_ID: ch.external.connectionId,
      MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: String(ch.external.optimalFrameSize),
    };
  }
  return json;
}

export function bridgeJson(br: SimBridge): BridgeJson {
  let technology: string;
  if (br.bridgeType === 'holding') technology = 'holding_bridge';
  // Recorded: a mixing bridge reports simple_bridge with 0, 1 or 2 channels; softmix takes over above two.
  else technology = br.channelIds.length > 2 ? 'softmix' : 'simple_bridge';
  return {
    id: br.id,
    technology,
    bridge_type: br.bridgeType,
    bridge_class: 'stasis',
    creator: 'Stasis',
    name: br.name,
    channels: [...br.channelIds],
    creationtime: br.creationtime,
    video_mode: 'talker',
  };
}

/** Dialplan location of a channel created by Dial/originate before it reaches Stasis. */
export const outgoingLine = (context: string): DialplanLocation => ({
  context,
  exten: 's',
  priority: 1,
  app_name: 'AppDial2',
  app_data: '(Outgoing Line)',
});

export const stasisLocation = (base: DialplanLocation, app: string, args: readonly string[]): DialplanLocation => ({
  ...base,
  app_name: 'Stasis',
  app_data: [app, ...args].join(','),
});
