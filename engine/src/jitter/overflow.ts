import type { FrameRing } from './frame-ring.js';
import type { JitterStats } from './jitter-stats.js';

/**
 * Makes room for `ext` when a stream runs ahead of the play head: at most `maxFrames` (maxDepthMs in whole frames)
 * may lie between the head and the newest frame. Drops the oldest frames (stored ones count as overflow, missing
 * ones as lost), then moves the head on to the oldest frame kept, counting the gaps it passes as lost. Returns the
 * new head; whether anything stored was dropped shows in `stats.overflow`. Called only for a push that overflows.
 */
export function dropOldest(ring: FrameRing, stats: JitterStats, headExt: number, ext: number, maxFrames: number): number {
  const newHead = ext - maxFrames + 1;
  let head = headExt;
  while (head < newHead) {
    if (ring.remove(head)) stats.overflow++;
    else stats.lost++;
    head++;
  }
  while (head < ext && !ring.has(head)) {
    stats.lost++;
    head++;
  }
  return head;
}
