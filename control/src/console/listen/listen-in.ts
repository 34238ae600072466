import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../../../common/src/errors.js';
import { logger } from '../../../../common/src/logger.js';
import { TAP_SAMPLE_RATE, type PairTapHandle, type TapSource } from '../../../../engine/src/index.js';
import { ApiError } from '../../http/errors.js';
import { loadWrtc, type AudioSource, type AudioTrack, type IceServer, type PeerConnection } from './wrtc.js';

/** What listen-in needs from the engine. */
export interface TapEngine {
  tapPair(pairId: string, source: TapSource): Promise<PairTapHandle>;
}

export interface ListenInOptions {
  engine: TapEngine;
  /** Most listeners at once on this node (default 8): each costs a PeerConnection and an Opus encoder. */
  maxListeners?: number;
  /** ICE servers handed to every PeerConnection; default none (host candidates: loopback and the LAN). */
  iceServers?: IceServer[];
  /** A listener that has not connected by then is ended (default 30 s). */
  connectTimeoutMs?: number;
  /** Called when the number of listeners changes (the metrics gauge). */
  onCount?: (count: number) => void;
  /** Called when a listener ends with the frames its tap dropped. */
  onDropped?: (frames: number) => void;
}

export interface ListenRequest {
  pairId: string;
  source: TapSource;
  /** The browser's SDP offer (non-trickle: the answer carries every candidate). */
  sdp: string;
  /** Who asked, for the log: a console session's tag and the remote address. Never the cookie itself. */
  who: { session: string; remote: string };
}

/** 10 ms at the tap's rate: what RTCAudioSource.onData takes. */
const CHUNK = TAP_SAMPLE_RATE / 100;
/** With no frame written for this long (a silent tap cannot be: the tick writes every 20 ms), look again anyway. */
const IDLE_WAKE_MS = 250;
const GATHER_TIMEOUT_MS = 5000;

const log = logger('control.listen');

/**
 * Listen-in (docs/console.md): an operator's browser hears a pair's leg live over WebRTC. Each listener
 * is an engine tap (a bounded ring the worker fills each tick, never waiting) drained as each frame lands
 * (the worker's write wakes the pump: no polling period added to the delay) into a wrtc RTCAudioSource on a server-side RTCPeerConnection. Signalling is one POST (offer in, answer out,
 * no trickle); with no ICE servers configured only host candidates are offered. A listener ends when the
 * browser leaves (DELETE, or the connection closes/fails), when the call ends (the tap's ring closes), on
 * its connect deadline, or when the node closes. Every start and end is logged with who and which pair.
 */
export class ListenIn {
  readonly #engine: TapEngine;
  readonly #max: number;
  readonly #iceServers: IceServer[];
  readonly #connectTimeoutMs: number;
  readonly #onCount: (count: number) => void;
  readonly #onDropped: (frames: number) => void;
  readonly #listeners = new Map<string, Listener>();
  #closed = false;

  constructor(options: ListenInOptions) {
    this.#engine = options.engine;
    this.#max = options.maxListeners ?? 8;
    this.#iceServers = options.iceServers ?? [];
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#onCount = options.onCount ?? (() => {});
    this.#onDropped = options.onDropped ?? (() => {});
  }

  get count(): number {
    return this.#listeners.size;
  }

  async start(request: ListenRequest): Promise<{ id: string; sdp: string }> {
    if (this.#closed) throw new ApiError(503, 'CLOSING', 'the node is closing');
    if (this.#listeners.size >= this.#max) throw new ApiError(429, 'TOO_MANY_LISTENERS', `this node allows ${this.#max} listeners at once`);
    const id = randomUUID();
    const listener = new Listener(id, request, this.#connectTimeoutMs, (reason) => this.#ended(id, reason));
    // Counted before the awaits, so concurrent starts cannot pass the limit.
    this.#listeners.set(id, listener);
    this.#onCount(this.#listeners.size);
    try {
      const sdp = await listener.open(this.#engine, this.#iceServers);
      log.info({ listenId: id, pairId: request.pairId, source: request.source, session: request.who.session, remote: request.who.remote }, 'listen-in started');
      return { id, sdp };
    } catch (err) {
      listener.stop('failed to start');
      if (err instanceof ApiError) throw err;
      const code = (err as { code?: unknown }).code;
      if (code === 'UNKNOWN_PAIR') throw new ApiError(404, 'UNKNOWN_PAIR', `no call on pair ${request.pairId}`);
      log.warn({ pairId: request.pairId, err: errorMessage(err) }, 'listen-in failed to start');
      throw new ApiError(400, 'LISTEN_FAILED', `could not start listening: ${errorMessage(err)}`);
    }
  }

  /** Ends a listener; false if there was none by that id. */
  stop(id: string, reason = 'stopped by the listener'): boolean {
    const listener = this.#listeners.get(id);
    if (!listener) return false;
    listener.stop(reason);
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const listener of [...this.#listeners.values()]) listener.stop('node closing');
  }

  #ended(id: string, reason: string): void {
    const listener = this.#listeners.get(id);
    if (!listener) return;
    this.#listeners.delete(id);
    this.#onCount(this.#listeners.size);
    const { pairId, source, who } = listener.request;
    this.#onDropped(listener.droppedFrames());
    log.info({ listenId: id, pairId, source, session: who.session, remote: who.remote, reason, seconds: listener.seconds(), droppedFrames: listener.droppedFrames() }, 'listen-in ended');
  }
}

/** One browser listening: a tap, a PeerConnection, an audio source and the pump between them. */
class Listener {
  readonly id: string;
  readonly request: ListenRequest;
  readonly #connectTimeoutMs: number;
  readonly #onEnded: (reason: string) => void;
  readonly #startedAt = Date.now();
  #tap: PairTapHandle | null = null;
  #pc: PeerConnection | null = null;
  #track: AudioTrack | null = null;
  #deadline: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(id: string, request: ListenRequest, connectTimeoutMs: number, onEnded: (reason: string) => void) {
    this.id = id;
    this.request = request;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#onEnded = onEnded;
  }

  seconds(): number {
    return Math.round((Date.now() - this.#startedAt) / 100) / 10;
  }

  droppedFrames(): number {
    return this.#tap?.reader.dropped ?? 0;
  }

  async open(engine: TapEngine, iceServers: IceServer[]): Promise<string> {
    const wrtc = await loadWrtc();
    this.#tap = await engine.tapPair(this.request.pairId, this.request.source);
    if (this.#stopped) throw new ApiError(503, 'CLOSING', 'the listener was stopped while starting');
    const source = new wrtc.nonstandard.RTCAudioSource();
    this.#track = source.createTrack();
    const pc = new wrtc.RTCPeerConnection({ iceServers });
    this.#pc = pc;
    pc.addTrack(this.#track);
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === 'connected' && this.#deadline !== null) {
        clearTimeout(this.#deadline);
        this.#deadline = null;
      }
      if (state === 'failed' || state === 'closed' || state === 'disconnected') this.stop(`connection ${state}`);
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: this.request.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await waitForGathering(pc);
    const answer = pc.localDescription;
    if (answer === null) throw new Error('no local description after gathering');
    this.#deadline = setTimeout(() => this.stop('never connected'), this.#connectTimeoutMs);
    this.#deadline.unref();
    this.#startPump(source);
    return answer.sdp;
  }

  /**
   * As each frame lands, move it into the audio source, 10 ms per onData; end when the call ended. Woken
   * by the worker's write (Atomics.waitAsync), not a timer: a 10 ms poll added 0–10 ms (5 on average) to
   * every frame, plus its own lateness on a loaded event loop.
   */
  #startPump(source: AudioSource): void {
    const tap = this.#tap;
    if (tap === null) return;
    const chunk = new Int16Array(CHUNK);
    const data = { samples: chunk, sampleRate: TAP_SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: CHUNK };
    const pump = async (): Promise<void> => {
      while (!this.#stopped) {
        try {
          tap.reader.drain((frame) => {
            for (let at = 0; at + CHUNK <= frame.length; at += CHUNK) {
              chunk.set(frame.subarray(at, at + CHUNK));
              source.onData(data);
            }
          });
        } catch (err) {
          this.stop(`audio source failed: ${errorMessage(err)}`);
          return;
        }
        if (tap.reader.closed) {
          this.stop('call ended');
          return;
        }
        await tap.reader.waitForFrames(IDLE_WAKE_MS);
      }
    };
    void pump();
  }

  /** Idempotent: stops the pump, ends the tap and closes the connection. */
  stop(reason: string): void {
    if (this.#stopped) return;
    // The pump sees #stopped when the tap's close wakes it.
    this.#stopped = true;
    if (this.#deadline !== null) clearTimeout(this.#deadline);
    void this.#tap?.close();
    const pc = this.#pc;
    if (pc !== null) {
      pc.onconnectionstatechange = null;
      pc.onicegatheringstatechange = null;
      pc.close();
    }
    this.#track?.stop();
    this.#onEnded(reason);
  }
}

/** Non-trickle: the answer goes out once every local candidate is in it. */
function waitForGathering(pc: PeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      pc.onicegatheringstatechange = null;
      resolve();
    };
  });
}
