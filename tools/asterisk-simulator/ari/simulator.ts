/**
 * AsteriskSimulator: a protocol-faithful stand-in for Asterisk 22.10.1's ARI
 * (HTTP + event WebSocket on 127.0.0.1) with simulated phones and externalMedia
 * RTP, driven by tests. See README.md for what is and is not simulated.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { InvalidStateError } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import type { AriCredentials } from './auth.js';
import { AsteriskCore, type ChannelSnapshot, type EventOrder, type PlaceCallOptions, type PlacedCall } from './core.js';
import { DeleteFaultPlan, type DeleteFaultCounts, type DeleteFaults } from './delete-faults.js';
import { AriRouter } from './http-router.js';
import type { AudioSource, MediaLegStats } from './media.js';
import type { BridgeJson } from './model.js';
import type { EndpointConfig, HeardChunk } from './phones.js';
import { AppRegistry, type EventTap } from './websocket.js';

const log = logger('simulator.ari');

const MAX_RECORDED_EVENTS = 100_000;

export interface SimulatorOptions extends AriCredentials {
  /** Default 127.0.0.1. The simulator refuses non-loopback addresses. */
  readonly host?: string;
  /** Default 0 (an ephemeral port). */
  readonly port?: number;
  /** Default 'recorded' (responses before their events, as in most recorded runs). */
  readonly eventOrder?: EventOrder;
  /** Endpoints known at start (`PJSIP/<key>`); more can be set through `endpoints`. */
  readonly endpoints?: Readonly<Record<string, EndpointConfig>>;
  /**
   * Asterisk's http.conf `sessionlimit` (default there: 100): connections beyond it
   * are held unanswered, as Asterisk stalls them. Default here: unlimited.
   */
  readonly sessionLimit?: number;
  /** Cap on what each phone records (seconds of audio). Default 60. */
  readonly maxHeardSeconds?: number;
  /** How many ended phones keep their recording for `heard()` (oldest dropped first). Default 256. */
  readonly retainEndedPhones?: number;
  /** Delay before an originate's first Dial event (recorded 2–6 ms). Default 2. */
  readonly dialDelayMs?: number;
  /** Keep every event sent for `events()` (default true); a load run that never reads them saves the memory. */
  readonly recordEvents?: boolean;
  /** How long a WebSocket externalMedia channel waits for its client before the dial gives up (Asterisk: the originate timeout, 30 s). */
  readonly mediaConnectTimeoutMs?: number;
  /** Slow and unanswered DELETEs of channels and bridges (a test's knob; also settable later through `deleteFaults`). */
  readonly deleteFaults?: DeleteFaults;
  /**
   * Recorded order: how long after its 200 an RTP externalMedia channel enters Stasis (recorded 1–2 ms;
   * default 2). Until then `bridges/addChannel` answers 422, as a real Asterisk does; a test widens the
   * gap to make every call meet that race.
   */
  readonly externalMediaStasisDelayMs?: number;
}

export interface RecordedEvent {
  readonly app: string;
  readonly event: Readonly<Record<string, unknown>>;
  /** False when no WebSocket was connected for the app (the event was lost, as in Asterisk). */
  readonly delivered: boolean;
}

export class AsteriskSimulator {
  readonly #server: Server;
  readonly #apps: AppRegistry;
  readonly #core: AsteriskCore;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #connections = new Set<Socket>();
  readonly #waiting: Socket[] = [];
  readonly #admitted = new Set<Socket>();
  readonly #held = new Map<Socket, Array<() => void>>();
  readonly #sessionLimit: number;
  /** The HTTP stall fault: others hold every session, and take each one freed, until it ends. */
  #sessionsTaken = false;
  readonly #events: RecordedEvent[] = [];
  readonly #deleteFaults = new DeleteFaultPlan();
  #url = '';
  #closed = false;

  private constructor(opts: SimulatorOptions) {
    this.#sessionLimit = opts.sessionLimit ?? Infinity;
    this.#apps = new AppRegistry();
    if (opts.recordEvents ?? true) {
      this.#apps.tap = ((app, event, delivered) => {
        // Bounded: a long load test keeps only the most recent events.
        if (this.#events.length >= MAX_RECORDED_EVENTS) this.#events.splice(0, MAX_RECORDED_EVENTS / 2);
        this.#events.push({ app, event, delivered });
      }) satisfies EventTap;
    }
    this.#core = new AsteriskCore(this.#apps, {
      eventOrder: opts.eventOrder ?? 'recorded',
      bindAddress: opts.host ?? '127.0.0.1',
      maxHeardSeconds: opts.maxHeardSeconds ?? 60,
      dialDelayMs: opts.dialDelayMs ?? 2,
      retainEndedPhones: opts.retainEndedPhones ?? 256,
      mediaConnectTimeoutMs: opts.mediaConnectTimeoutMs ?? 30_000,
      externalMediaStasisDelayMs: opts.externalMediaStasisDelayMs ?? 2,
    });
    for (const [k, v] of Object.entries(opts.endpoints ?? {})) this.#core.endpoints.set(k, v);
    if (opts.deleteFaults) this.#deleteFaults.faults = opts.deleteFaults;
    const router = new AriRouter({
      core: this.#core,
      apps: this.#apps,
      credentials: { username: opts.username, password: opts.password },
      timers: this.#timers,
      releaseSession: (socket) => this.#release(socket as Socket),
      deleteFaults: this.#deleteFaults,
    });
    this.#server = createServer((req, res) => this.#whenAdmitted(req.socket, () => router.handleRequest(req, res)));
    this.#server.on('upgrade', (req, socket, head) => this.#whenAdmitted(socket as Socket, () => router.handleUpgrade(req, socket, head)));
    this.#server.on('connection', (socket) => this.#admit(socket));
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Starts the HTTP/WebSocket server and resolves once it listens. */
  static async start(opts: SimulatorOptions): Promise<AsteriskSimulator> {
    const host = opts.host ?? '127.0.0.1';
    if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new RangeError(`simulator host must be a loopback address, got ${host}`);
    if (opts.username.length === 0) throw new RangeError('username must not be empty');
    const sim = new AsteriskSimulator(opts);
    await new Promise<void>((resolve, reject) => {
      sim.#server.once('error', reject);
      sim.#server.listen(opts.port ?? 0, host, () => {
        sim.#server.off('error', reject);
        resolve();
      });
    });
    const addr = sim.#server.address();
    if (addr === null || typeof addr === 'string') throw new InvalidStateError('server has no TCP address');
    sim.#url = `http://${host}:${addr.port}`;
    log.debug({ url: sim.#url }, 'simulator listening');
    return sim;
  }

  /** The base URL ari-client connects to (`client.connect(sim.ariUrl, user, pass)`). */
  get ariUrl(): string {
    return this.#url;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Slow and unanswered DELETEs from now on (null: none); a RangeError for a bad value. */
  get deleteFaults(): DeleteFaults | null {
    return this.#deleteFaults.faults;
  }

  set deleteFaults(faults: DeleteFaults | null) {
    this.#deleteFaults.faults = faults;
  }

  /** What the delete faults did so far. */
  get deleteFaultCounts(): Readonly<DeleteFaultCounts> {
    return { ...this.#deleteFaults.counts };
  }

  /** Endpoints an originate can reach: `sim.endpoints.set('7001', { behaviour: 'answer' })`. */
  get endpoints(): Map<string, EndpointConfig> {
    return this.#core.endpoints;
  }

  placeCall(opts: PlaceCallOptions): PlacedCall {
    this.#assertOpen();
    return this.#core.placeCall(opts);
  }

  /** The phone on `channelId` hangs up (SIP BYE; a ringing originated leg rejects with 486). */
  hangup(channelId: string): boolean {
    this.#assertOpen();
    return this.#core.phoneHangup(channelId);
  }

  /** Kills the app's event WebSocket(s) abruptly; channels and bridges stay (s9). */
  dropApplicationSockets(app?: string): void {
    this.#assertOpen();
    this.#apps.dropSockets(app);
  }

  isAppConnected(app: string): boolean {
    return this.#apps.isConnected(app);
  }

  channels(): ChannelSnapshot[] {
    return this.#core.channels();
  }

  bridges(): BridgeJson[] {
    return this.#core.bridges();
  }

  heard(channelId: string): readonly HeardChunk[] {
    return this.#core.heard(channelId);
  }

  setAudio(channelId: string, source: AudioSource | undefined): void {
    this.#assertOpen();
    this.#core.setAudio(channelId, source);
  }

  mediaStats(channelId: string): MediaLegStats | undefined {
    return this.#core.mediaStats(channelId);
  }

  /** Every event the simulator sent (or lost for want of a socket), in order; empty with `recordEvents: false`. */
  events(): readonly RecordedEvent[] {
    return this.#events;
  }

  clearEvents(): void {
    this.#events.length = 0;
  }

  /** Open HTTP/WebSocket connections (for leak assertions). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#core.close();
    this.#apps.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const socketsClosed = [...this.#connections].map(
      // Still in the set means its 'close' has not been emitted yet.
      (s) => new Promise<void>((resolve) => s.once('close', () => resolve())),
    );
    for (const s of this.#connections) s.destroy();
    this.#waiting.length = 0;
    this.#held.clear();
    this.#server.closeAllConnections();
    await Promise.all([closed, ...socketsClosed]);
  }

  /**
   * Asterisk's sessionlimit: a connection over the limit is neither served nor
   * refused; its requests wait until an admitted connection closes. (Node's HTTP
   * parser reads the socket directly, so the requests are held, not the bytes.)
   */
  #admit(socket: Socket): void {
    this.#connections.add(socket);
    if (!this.#sessionsTaken && this.#admitted.size < this.#sessionLimit) this.#admitted.add(socket);
    else this.#waiting.push(socket);
    socket.once('close', () => {
      this.#connections.delete(socket);
      this.#held.delete(socket);
      const i = this.#waiting.indexOf(socket);
      if (i >= 0) this.#waiting.splice(i, 1);
      this.#release(socket);
    });
  }

  /** The connection no longer holds a session (closed, or handed to a media channel): the next waiting one is served. */
  #release(socket: Socket): void {
    if (!this.#admitted.delete(socket)) return;
    this.#admitWaiting();
  }

  /** Serves waiting connections, oldest first, while sessions are free. */
  #admitWaiting(): void {
    while (!this.#sessionsTaken && this.#admitted.size < this.#sessionLimit) {
      const next = this.#waiting.shift();
      if (!next) return;
      this.#admitted.add(next);
      const held = this.#held.get(next) ?? [];
      this.#held.delete(next);
      for (const run of held) run();
    }
  }

  /**
   * Fault: the HTTP server at its `sessionlimit`, as when other clients hold every session and take
   * each one freed. Idle keep-alive connections are closed (as Asterisk's `session_keep_alive` ends
   * them), so each new connection stalls unanswered (the FACTS behaviour) until `release()`.
   * Connections busy with a request, and upgraded WebSockets, keep their sessions.
   */
  takeHttpSessions(): { release: () => void } {
    this.#assertOpen();
    if (!Number.isFinite(this.#sessionLimit)) throw new InvalidStateError('takeHttpSessions needs a sessionLimit');
    if (this.#sessionsTaken) throw new InvalidStateError('HTTP sessions are already taken');
    this.#sessionsTaken = true;
    this.#server.closeIdleConnections();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#sessionsTaken = false;
        if (!this.#closed) this.#admitWaiting();
      },
    };
  }

  /** HTTP connections served and waiting for a session (the stall fault's evidence). */
  httpSessions(): { admitted: number; waiting: number } {
    return { admitted: this.#admitted.size, waiting: this.#waiting.length };
  }

  #whenAdmitted(socket: Socket, run: () => void): void {
    if (this.#admitted.has(socket)) {
      run();
      return;
    }
    const held = this.#held.get(socket) ?? [];
    held.push(run);
    this.#held.set(socket, held);
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('simulator is closed');
  }
}
