import type { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { AriEvent } from './events.js';
import type { AriApplication, AriBridge, AriChannel } from './models.js';

/**
 * Tandem's boundary to ARI: the operations the control plane uses, with typed
 * inputs and outputs, and events already parsed. Implementations add request
 * deadlines, bound concurrency and supervise the event connection; the call
 * logic never sees the library underneath.
 */
export interface OriginateParams {
  endpoint: string;
  app: string;
  appArgs: string;
  channelId: string;
  callerId?: string;
  timeoutSeconds?: number;
  variables?: Record<string, string>;
}

export type ExternalMediaParams = {
  app: string;
  format: string;
  channelId: string;
  variables?: Record<string, string>;
} & (
  | {
      /** UnicastRTP (chan_rtp): Asterisk sends RTP to `externalHost` (`host:port`). */
      transport?: 'rtp';
      externalHost: string;
    }
  | {
      /**
       * chan_websocket, waiting for Tandem to connect (`transport=websocket`, `encapsulation=none`,
       * `connection_type=server`): the response's `channelvars.MEDIA_WEBSOCKET_CONNECTION_ID` names
       * the `/media/<id>` URL. The channel enters Stasis once that connection is up.
       */
      transport: 'websocket';
    }
);

export interface AriConnectionEvents {
  [key: string]: unknown[];
  event: [event: AriEvent];
  /** The event WebSocket is up (first time and after every reconnect). */
  connected: [info: { reconnect: boolean }];
  disconnected: [reason: string];
  /** A WebSocket message that could not be parsed; counted and dropped. */
  badevent: [error: Error];
  listenererror: [event: string, error: unknown];
}

export interface AriClient extends TypedEmitter<AriConnectionEvents> {
  readonly app: string;
  readonly connected: boolean;
  readonly closed: boolean;

  originate(params: OriginateParams): Promise<AriChannel>;
  externalMedia(params: ExternalMediaParams): Promise<AriChannel>;
  /** Hangs a channel up; resolves false if it was already gone (404). */
  hangup(channelId: string, reason?: string): Promise<boolean>;
  answer(channelId: string): Promise<void>;
  setVariable(channelId: string, name: string, value: string): Promise<void>;
  listChannels(): Promise<AriChannel[]>;

  createBridge(bridgeId: string, name: string, type?: string): Promise<AriBridge>;
  /** Destroys a bridge; resolves false if it was already gone (404). */
  destroyBridge(bridgeId: string): Promise<boolean>;
  addChannels(bridgeId: string, channelIds: readonly string[]): Promise<void>;
  listBridges(): Promise<AriBridge[]>;
  getApplication(): Promise<AriApplication>;

  close(): Promise<void>;
}
