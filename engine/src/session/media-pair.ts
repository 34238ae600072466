import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import type { Codec } from '../codec/index.js';
import type { StageContext, StageFactory } from '../pipeline/index.js';
import type { LegName, MediaStartInfo, MediaTransport, PairStats, UdpEndpoint } from '../worker/protocol.js';
import { EngineError } from './errors.js';
import { MediaDirection, type FrameObserver, type SlotPlanner, type StageSwap } from './media-direction.js';
import type { Direction, MediaFrame } from '../pipeline/index.js';
import { LevelMeter } from './level-meter.js';
import type { PairTap } from './pair-tap.js';
import type { MediaLeg } from './media-leg.js';
import { RtpLeg } from './rtp-leg.js';
import { WebSocketLeg } from './websocket-leg.js';
import type { PairRecorder, RecordingSummary } from '../pipeline/recording/pair-recorder.js';

/**
 * One relayed pair inside a worker: PAIR_ID with leg A (EXT_A's bridge) and leg B (EXT_B's
 * bridge). What A says is processed into B and what B says into A; the two
 * directions never share buffers.
 */
export interface MediaPairOptions {
  pairId: string;
  extA: string;
  extB: string;
  /** Both legs use the same transport. */
  legA: MediaLeg;
  legB: MediaLeg;
  stageFactory: StageFactory;
  log: Logger;
  /** The worker's scheduler, so each direction can align its tick with its packets. */
  planner?: SlotPlanner;
  alignMarginMs?: number;
  /** Records both legs, original and translated; closed with the pair. */
  recorder?: PairRecorder | null;
  /** Called with the recording's summary once its file is complete. */
  onRecordingClosed?: (summary: RecordingSummary) => void;
  /** How long a direction's new stage waits for its next pause before it takes over anyway (default STAGE_SWAP_MAX_WAIT_MS). */
  stageSwapMaxWaitMs?: number;
}

/**
 * A direction that never pauses (a speaker who never stops, an answer the provider never finishes, a service
 * that sends no marks) still gets its new stage after this long: 10 s is longer than nearly every utterance
 * plus its answer, and short enough that a language change is not lost in a long monologue. Counted and
 * logged as `forced`.
 */
export const STAGE_SWAP_MAX_WAIT_MS = 10_000;

/** Stage swaps of the pair's directions (replaceStages): at a pause, forced by the bound, or failed to build. */
export interface StageSwapCounts {
  atPause: number;
  forced: number;
  failed: number;
}

export class MediaPair {
  readonly pairId: string;
  readonly extA: string;
  readonly extB: string;
  readonly legA: MediaLeg;
  readonly legB: MediaLeg;
  readonly #aToB: MediaDirection;
  readonly #bToA: MediaDirection;
  readonly #log: Logger;
  readonly #stageContexts: readonly [StageContext, StageContext];
  readonly #recorder: PairRecorder | null;
  readonly #onRecordingClosed: (summary: RecordingSummary) => void;
  /** Speech level and clipping of what each leg delivered (A: the A->B input, B: the B->A input). */
  readonly #levelA = new LevelMeter();
  readonly #levelB = new LevelMeter();
  /** Listeners' taps (none: nothing copied). */
  readonly #taps = new Map<string, PairTap>();
  readonly #stageSwapMaxWaitMs: number;
  readonly #swaps: StageSwapCounts = { atPause: 0, forced: 0, failed: 0 };
  #closed = false;

  constructor(options: MediaPairOptions) {
    this.pairId = options.pairId;
    this.extA = options.extA;
    this.extB = options.extB;
    this.legA = options.legA;
    this.legB = options.legB;
    this.#log = options.log;
    this.#stageSwapMaxWaitMs = options.stageSwapMaxWaitMs ?? STAGE_SWAP_MAX_WAIT_MS;
    const { pairId, extA, extB, stageFactory } = options;
    const planner = options.planner ?? null;
    const margin = options.alignMarginMs ?? 2;
    const aToB: StageContext = { pairId, direction: 'A->B', srcExt: extA, dstExt: extB };
    const bToA: StageContext = { pairId, direction: 'B->A', srcExt: extB, dstExt: extA };
    this.#stageContexts = [aToB, bToA];
    this.#aToB = new MediaDirection(pairId, 'A->B', this.legA, this.legB, stageFactory(aToB), planner, margin);
    this.#bToA = new MediaDirection(pairId, 'B->A', this.legB, this.legA, stageFactory(bToA), planner, margin);
    this.#recorder = options.recorder ?? null;
    this.#onRecordingClosed = options.onRecordingClosed ?? (() => {});
    this.#aToB.observe(this.#observer);
    this.#bToA.observe(this.#observer);
  }

  /** Every tick of both directions: measure the input's level, then the recorder, then each listener's tap. */
  readonly #observer: FrameObserver = {
    frame: (direction: Direction, input: MediaFrame | null, output: MediaFrame | null): void => {
      if (input !== null) (direction === 'A->B' ? this.#levelA : this.#levelB).measure(input.pcm, input.samples);
      this.#recorder?.frame(direction, input, output);
      if (this.#taps.size === 0) return;
      for (const tap of this.#taps.values()) {
        if (tap.closed) this.#taps.delete(tap.id);
        else tap.frame(direction, input, output);
      }
    },
  };

  /** Adds a listener's tap; it is closed with the pair. */
  addTap(tap: PairTap): void {
    if (this.#closed) {
      tap.close();
      return;
    }
    this.#taps.set(tap.id, tap);
  }

  /** Ends a listener's tap; false if the pair had none by that id. */
  removeTap(id: string): boolean {
    const tap = this.#taps.get(id);
    if (!tap) return false;
    tap.close();
    this.#taps.delete(id);
    return true;
  }

  get tapCount(): number {
    return this.#taps.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get codec(): Codec {
    return this.legA.codec;
  }

  leg(name: LegName): MediaLeg {
    return name === 'A' ? this.legA : this.legB;
  }

  get transport(): MediaTransport {
    return this.legA.transport;
  }

  /** Sockets and connections the legs hold now. */
  get openTransports(): number {
    return this.legA.openTransports + this.legB.openTransports;
  }

  /**
   * Where Asterisk's side of an RTP leg is (UNICASTRTP_LOCAL_ADDRESS/PORT).
   * Resolves once the leg's socket is connected to it (see RtpLeg.setRemote).
   */
  setRemote(name: LegName, remote: UdpEndpoint): Promise<void> {
    const leg = this.leg(name);
    if (!(leg instanceof RtpLeg)) {
      return Promise.reject(new EngineError('WRONG_TRANSPORT', `pair ${this.pairId} has WebSocket legs: connect them with connectMedia, not setRemote`));
    }
    return leg.setRemote(remote);
  }

  /** Connects a WebSocket leg to Asterisk's media channel; resolves with its MEDIA_START. */
  connectMedia(name: LegName, url: string): Promise<MediaStartInfo> {
    const leg = this.leg(name);
    if (!(leg instanceof WebSocketLeg)) {
      return Promise.reject(new EngineError('WRONG_TRANSPORT', `pair ${this.pairId} has RTP legs: set their remote with setRemote, not connectMedia`));
    }
    return leg.connect(url);
  }

  /** The two directions; each is its own scheduler task. */
  get directions(): readonly [MediaDirection, MediaDirection] {
    return [this.#aToB, this.#bToA];
  }

  /**
   * New stages for both directions (e.g. new languages), each taking over at its own direction's next pause
   * (MediaDirection.replaceStageAtPause): what is being said, translated or played finishes on the old stage,
   * which is then closed. Each new stage is built from `stageFactory` at its swap, so a later call before then
   * replaces this one and nothing is opened for it; closing the pair drops a swap still waiting.
   */
  replaceStages(stageFactory: StageFactory): void {
    if (this.#closed) return;
    for (const [direction, context] of [
      [this.#aToB, this.#stageContexts[0]],
      [this.#bToA, this.#stageContexts[1]],
    ] as const) {
      direction.replaceStageAtPause(() => stageFactory(context), this.#stageSwapMaxWaitMs, (swap) => this.#swapped(context, swap));
    }
  }

  /** Stage swaps so far, and the directions still waiting for their pause. */
  get stageSwaps(): StageSwapCounts & { pending: number } {
    return { ...this.#swaps, pending: (this.#aToB.swapPending ? 1 : 0) + (this.#bToA.swapPending ? 1 : 0) };
  }

  #swapped(context: StageContext, swap: StageSwap): void {
    const at = { pairId: this.pairId, direction: context.direction, waitedMs: Math.round(swap.waitedMs) };
    if (swap.error !== undefined) {
      this.#swaps.failed++;
      this.#log.error({ ...at, err: errorMessage(swap.error) }, 'new stage not built: the direction keeps its stage');
    } else if (swap.forced) {
      this.#swaps.forced++;
      this.#log.warn({ ...at, forced: this.#swaps.forced }, 'stage swapped without a pause: the direction was busy for the whole bound');
    } else {
      this.#swaps.atPause++;
      this.#log.info(at, 'stage swapped at a pause');
    }
  }

  get recordingPath(): string | null {
    return this.#recorder?.path ?? null;
  }

  stats(): PairStats {
    const recorder = this.#recorder;
    return {
      ...(recorder ? { recording: { path: recorder.path, droppedMs: recorder.stats().droppedMs } } : {}),
      pairId: this.pairId,
      extA: this.extA,
      extB: this.extB,
      codec: this.legA.codec.name,
      legA: { ...this.legA.stats(), level: this.#levelA.read() },
      legB: { ...this.legB.stats(), level: this.#levelB.read() },
      ...(this.#swaps.atPause + this.#swaps.forced + this.#swaps.failed > 0 || this.#aToB.swapPending || this.#bToA.swapPending ? { stageSwaps: this.stageSwaps } : {}),
    };
  }

  /** Releases both legs' transports and both stages. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#aToB.close();
    this.#bToA.close();
    this.legA.close();
    this.legB.close();
    for (const tap of this.#taps.values()) tap.close();
    this.#taps.clear();
    this.#aToB.observe(null);
    this.#bToA.observe(null);
    const recorder = this.#recorder;
    if (recorder) {
      // The file is completed in the background: its header sizes are written last.
      void recorder.close().then(
        (summary) => {
          this.#log.info({ pairId: this.pairId, recording: summary }, 'recording closed');
          this.#onRecordingClosed(summary);
        },
        (err: unknown) => this.#log.error({ pairId: this.pairId, err }, 'recording failed to close'),
      );
    }
    this.#log.info({ pairId: this.pairId, reason }, 'pair closed');
  }
}
