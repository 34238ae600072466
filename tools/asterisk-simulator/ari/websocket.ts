/**
 * The application registry and event WebSocket, as observed in s9: one socket
 * per app; a second socket for the same app makes the first receive
 * `ApplicationReplaced` (it is not closed) and every later event goes to the
 * new one; a dropped socket loses its events (no replay), and the app stays
 * listed by GET /applications.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { logger } from '../../../common/src/logger.js';
import { asteriskTime } from './model.js';
import type { AriEvent } from './events.js';

const log = logger('simulator.ari.ws');

export const ASTERISK_ID = '02:fc:00:00:00:01';

interface AppState {
  readonly name: string;
  socket: WebSocket | undefined;
}

/** Something that records each event as sent, for tests that assert on order. */
export type EventTap = (app: string, event: Readonly<Record<string, unknown>>, delivered: boolean) => void;

export class AppRegistry {
  readonly #apps = new Map<string, AppState>();
  readonly #sockets = new Set<WebSocket>();
  readonly #wss = new WebSocketServer({ noServer: true, clientTracking: false });
  #capture: Array<() => void> | null = null;
  #tap: EventTap | undefined;
  #closed = false;

  set tap(tap: EventTap | undefined) {
    this.#tap = tap;
  }

  /** Apps that ever had a WebSocket (Asterisk keeps them registered after a drop). */
  appNames(): string[] {
    return [...this.#apps.keys()];
  }

  isConnected(app: string): boolean {
    const s = this.#apps.get(app)?.socket;
    return s !== undefined && s.readyState === WebSocket.OPEN;
  }

  /** Completes a validated upgrade and registers the socket for every app it names. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, appNames: readonly string[]): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.#closed) {
        ws.terminate();
        return;
      }
      this.#sockets.add(ws);
      ws.on('close', () => {
        this.#sockets.delete(ws);
        for (const app of this.#apps.values()) if (app.socket === ws) app.socket = undefined;
      });
      ws.on('error', (err) => log.debug({ err: err.message }, 'event socket error'));
      for (const name of appNames) {
        const app = this.#apps.get(name) ?? { name, socket: undefined };
        this.#apps.set(name, app);
        const previous = app.socket;
        if (previous && previous.readyState === WebSocket.OPEN) {
          // Recorded key order: type, timestamp, application, asterisk_id.
          previous.send(
            JSON.stringify({ type: 'ApplicationReplaced', timestamp: asteriskTime(), application: name, asterisk_id: ASTERISK_ID }),
          );
        }
        app.socket = ws;
      }
      log.debug({ apps: appNames }, 'event socket connected');
    });
  }

  /** Sends one event to an app's current socket; dropped (as Asterisk does) when none is connected. */
  send(app: string, event: AriEvent): void {
    const deliver = (): void => {
      const json = { ...event, asterisk_id: ASTERISK_ID, application: app };
      const socket = this.#apps.get(app)?.socket;
      const open = socket !== undefined && socket.readyState === WebSocket.OPEN;
      if (open) socket.send(JSON.stringify(json));
      this.#tap?.(app, json, open);
    };
    if (this.#capture) this.#capture.push(deliver);
    else deliver();
  }

  /**
   * Runs `fn`, holding back the events it sends synchronously; returns them as
   * one flush function, so a request handler can choose to send them before or
   * after its response.
   */
  capture<T>(fn: () => T): { result: T; flush: () => void } {
    const outer = this.#capture;
    const held: Array<() => void> = [];
    this.#capture = held;
    try {
      const result = fn();
      return { result, flush: () => held.splice(0).forEach((d) => d()) };
    } finally {
      this.#capture = outer;
    }
  }

  /** Closes every app's socket abruptly (the app process "dies"); apps stay registered. */
  dropSockets(app?: string): void {
    for (const state of this.#apps.values()) {
      if (app !== undefined && state.name !== app) continue;
      state.socket?.terminate();
      state.socket = undefined;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ws of this.#sockets) ws.terminate();
    this.#sockets.clear();
    for (const state of this.#apps.values()) state.socket = undefined;
    this.#wss.close();
  }
}
