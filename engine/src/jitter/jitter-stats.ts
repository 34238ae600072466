export interface JitterStats {
  /** Every push. */
  received: number;
  /** Sequence numbers the play head passed that never arrived (counted once each). */
  lost: number;
  /** Packets at/behind the play head, or stragglers of a replaced stream. */
  late: number;
  duplicate: number;
  /** Packets stored although a newer one had arrived before them (late ones are in `late` only). */
  reordered: number;
  /** Repeat-and-fade frames output ('concealed' results, not 'silence'). */
  concealed: number;
  resyncs: number;
  /** Stored frames dropped at push time to keep depth within maxDepthMs. */
  overflow: number;
  /** 'audio' results. */
  played: number;
  /** Stored frames dropped one at a time by the slow shrink toward the target depth (not in `overflow`). */
  accelerated: number;
  /** Stored frames discarded unplayed when a stream ended (idle) or was replaced (resync). */
  flushed: number;
  /** Stored frames the decoder threw on (or returned a bad count for); concealed instead. */
  decodeErrors: number;
  /** Audio buffered ahead of the play head: span from head to newest frame, gaps included. */
  depthMs: number;
  /** Current adaptive target depth. */
  targetMs: number;
  /** RFC 3550 interarrival jitter estimate, in ms. */
  jitterMs: number;
  /** Mean of jitterMs over every arrival the estimate saw (the stream's typical jitter, for call records). */
  jitterMeanMs: number;
  /** Highest jitterMs so far. */
  jitterMaxMs: number;
  /** Mean depth (as depthMs, before the frame is taken) over the ticks that played or concealed: the buffering delay. */
  depthMeanMs: number;
  /** Highest depth any such tick saw. */
  depthMaxMs: number;
}

/**
 * The jitter buffer's accounting: one live JitterStats object (counters the buffer bumps directly, so counting costs
 * an increment) plus the running sums behind its means. Kept apart so the buffer's state machine reads as playout
 * decisions, not bookkeeping.
 */
export class JitterStatsRecorder {
  /** Read by callers through JitterBuffer.stats: updated in place, never copied. */
  readonly stats: JitterStats;
  /** Running sums behind jitterMeanMs / depthMeanMs: two additions per sample, nothing allocated. */
  #jitterSumMs = 0;
  #jitterSamples = 0;
  #depthSumMs = 0;
  #depthSamples = 0;

  constructor(targetMs: number) {
    this.stats = {
      received: 0,
      lost: 0,
      late: 0,
      duplicate: 0,
      reordered: 0,
      concealed: 0,
      resyncs: 0,
      overflow: 0,
      played: 0,
      accelerated: 0,
      flushed: 0,
      decodeErrors: 0,
      depthMs: 0,
      targetMs,
      jitterMs: 0,
      jitterMeanMs: 0,
      jitterMaxMs: 0,
      depthMeanMs: 0,
      depthMaxMs: 0,
    };
  }

  /** One arrival the jitter estimate saw. */
  sampleJitter(jitterMs: number): void {
    const stats = this.stats;
    this.#jitterSumMs += jitterMs;
    stats.jitterMeanMs = this.#jitterSumMs / ++this.#jitterSamples;
    if (jitterMs > stats.jitterMaxMs) stats.jitterMaxMs = jitterMs;
  }

  /** One tick that plays or conceals, with the audio waiting ahead of the play head (the frame about to play included). */
  sampleDepth(depthMs: number): void {
    const stats = this.stats;
    this.#depthSumMs += depthMs;
    stats.depthMeanMs = this.#depthSumMs / ++this.#depthSamples;
    if (depthMs > stats.depthMaxMs) stats.depthMaxMs = depthMs;
  }

  /** The current depth, target and jitter: the gauges, as opposed to the counters. */
  publish(depthMs: number, targetMs: number, jitterMs: number): void {
    const stats = this.stats;
    stats.depthMs = depthMs;
    stats.targetMs = targetMs;
    stats.jitterMs = jitterMs;
  }

  /** Counters and means back to zero, in place (the gauges are left for the next publish). */
  reset(): void {
    const stats = this.stats;
    stats.received = 0;
    stats.lost = 0;
    stats.late = 0;
    stats.duplicate = 0;
    stats.reordered = 0;
    stats.concealed = 0;
    stats.resyncs = 0;
    stats.overflow = 0;
    stats.played = 0;
    stats.accelerated = 0;
    stats.flushed = 0;
    stats.decodeErrors = 0;
    stats.jitterMeanMs = 0;
    stats.jitterMaxMs = 0;
    stats.depthMeanMs = 0;
    stats.depthMaxMs = 0;
    this.#jitterSumMs = 0;
    this.#jitterSamples = 0;
    this.#depthSumMs = 0;
    this.#depthSamples = 0;
  }
}
