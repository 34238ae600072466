import type { PreRollRing } from './pre-roll-ring.js';
import type { QueuedChunk } from './vad-types.js';

/**
 * The gate opened on `opening` after `closedRun` gated chunks: the last (ring capacity) of them go to the
 * model first, in order. Those still queued just change hands; those already decided come back from
 * the ring (the model's answer replaces the gate's, which the idle segmenter ignored). A gap of
 * stateResetAfterMs (`resetAfterChunks`) or more beyond the pre-roll restarts the model state at the
 * first chunk it hears. Returns how many chunks came back from the ring; the ring is empty afterwards.
 */
export function preRollBefore(q: QueuedChunk[], ring: PreRollRing, opening: QueuedChunk, closedRun: number, resetAfterChunks: number): number {
  const preRoll = ring.capacity;
  let first = q.length;
  let taken = 0;
  let restored = 0;
  while (first > 0 && taken < preRoll && q[first - 1]!.gated && !q[first - 1]!.silent) {
    first--;
    q[first]!.gated = false;
    taken++;
  }
  // The decided ones came just before the queued run: every chunk left ahead of it in the queue is
  // older (the ring empties whenever a chunk after them goes to the model).
  if (taken < preRoll && ring.length > 0 && (first === q.length || !q[first]?.silent) && !(first > 0 && q[first - 1]!.silent)) {
    const back = ring.takeNewest(preRoll - taken);
    q.splice(first, 0, ...back.map((kept) => ({ input: kept.input, start: kept.start, gated: false, silent: false, decide: kept.redecidable, resetState: false, queuedAt: performance.now() })));
    restored = back.length;
    taken += back.length;
  }
  ring.clear();
  if (resetAfterChunks > 0 && closedRun - taken >= resetAfterChunks) {
    const head = taken > 0 ? q[first]! : opening;
    head.resetState = true;
  }
  return restored;
}
