/**
 * Jitter buffer settings: one type with documented defaults and one validation
 * function that names the offending key.
 */

/** Every frame the buffer handles is one 20 ms RTP packet (Asterisk's ptime). */
export const FRAME_MS = 20;

export interface JitterBufferOptions {
  /** RTP clock rate of the stream: 8000 or 16000 (any multiple of 50 in [8000, 48000] is accepted). */
  clockRate: number;
  /** PCM samples the decoder produces per 20 ms frame: 160 or 320. */
  frameSamples: number;
  /** Lowest target depth, counting the frame about to be played. Default 20 (one frame). */
  minDepthMs?: number;
  /** Highest depth ever buffered ahead of the play head; older frames are dropped beyond it. Default 200. */
  maxDepthMs?: number;
  /** Slots in the reorder ring; must cover maxDepthMs. Default 2 × maxDepthMs/20 + 2. */
  capacityFrames?: number;
  /** Frames of repeat-and-fade of the last frame before output turns to silence. Default 3. */
  concealFrames?: number;
  /** Nothing received for this long → the stream is over ('waiting' until a fresh prefill). Default 1000. */
  idleAfterMs?: number;
  /**
   * A sequence or timestamp jump larger than this (in stream time) restarts playout. Must exceed
   * maxDepthMs + 20. Default 1000, or maxDepthMs + 40 when that is larger.
   */
  resyncJumpMs?: number;
  /**
   * Lateness the caller's playout clock already absorbs: the engine ticks each
   * stream this long after its packets' arrival phase (alignMarginMs), so a
   * packet up to this late still makes its tick and needs no extra depth.
   * The jitter-driven target is reduced by it. Default 0; below one frame.
   */
  playoutSlackMs?: number;
}

/** A bad option: a RangeError that also carries the key, so callers can branch on it. */
export class JitterOptionError extends RangeError {
  override readonly name = 'JitterOptionError';
  readonly code = 'JITTER_OPTION';
  constructor(
    readonly key: keyof JitterBufferOptions,
    message: string,
  ) {
    super(`jitter option ${key}: ${message}`);
  }
}

const MAX_DEPTH_LIMIT_MS = 10_000;
const MAX_CAPACITY_FRAMES = 8192; // far below the 32768 frames where 16-bit sequence order becomes ambiguous
const MAX_CONCEAL_FRAMES = 50;

function requireNumber(key: keyof JitterBufferOptions, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new JitterOptionError(key, `must be a finite number, got ${String(value)}`);
  }
  return value;
}

function requireInteger(key: keyof JitterBufferOptions, value: unknown, min: number, max: number): number {
  const n = requireNumber(key, value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new JitterOptionError(key, `must be an integer in [${min}, ${max}], got ${n}`);
  }
  return n;
}

function requireRange(key: keyof JitterBufferOptions, value: unknown, min: number, max: number): number {
  const n = requireNumber(key, value);
  if (n < min || n > max) throw new JitterOptionError(key, `must be in [${min}, ${max}], got ${n}`);
  return n;
}

/** Checks every key and fills in the defaults; throws a {@link JitterOptionError} (a RangeError) naming the key. */
export function validateJitterOptions(o: JitterBufferOptions): Required<JitterBufferOptions> {
  if (typeof o !== 'object' || o === null) throw new TypeError('jitter options must be an object');
  const clockRate = requireInteger('clockRate', o.clockRate, 8000, 48000);
  if (clockRate % (1000 / FRAME_MS) !== 0) {
    throw new JitterOptionError('clockRate', `must give a whole number of ticks per ${FRAME_MS} ms frame, got ${clockRate}`);
  }
  const frameSamples = requireInteger('frameSamples', o.frameSamples, 1, 4800);
  const minDepthMs = requireRange('minDepthMs', o.minDepthMs ?? FRAME_MS, FRAME_MS, MAX_DEPTH_LIMIT_MS);
  const maxDepthMs = requireRange('maxDepthMs', o.maxDepthMs ?? 200, FRAME_MS, MAX_DEPTH_LIMIT_MS);
  const maxFrames = Math.floor(maxDepthMs / FRAME_MS);
  if (maxFrames * FRAME_MS < minDepthMs) {
    throw new JitterOptionError(
      'maxDepthMs',
      `must hold minDepthMs (${minDepthMs}) in whole ${FRAME_MS} ms frames, got ${maxDepthMs}`,
    );
  }
  const capacityFrames = requireInteger('capacityFrames', o.capacityFrames ?? maxFrames * 2 + 2, maxFrames, MAX_CAPACITY_FRAMES);
  const concealFrames = requireInteger('concealFrames', o.concealFrames ?? 3, 0, MAX_CONCEAL_FRAMES);
  const idleAfterMs = requireRange('idleAfterMs', o.idleAfterMs ?? 1000, FRAME_MS, 3_600_000);
  // A reorder inside the depth window must never look like a jump, hence the floor.
  const resyncFloorMs = maxDepthMs + FRAME_MS;
  const resyncJumpMs = requireRange('resyncJumpMs', o.resyncJumpMs ?? Math.max(1000, resyncFloorMs + FRAME_MS), resyncFloorMs, 600_000);
  const playoutSlackMs = requireRange('playoutSlackMs', o.playoutSlackMs ?? 0, 0, FRAME_MS - 1);
  return { clockRate, frameSamples, minDepthMs, maxDepthMs, capacityFrames, concealFrames, idleAfterMs, resyncJumpMs, playoutSlackMs };
}
