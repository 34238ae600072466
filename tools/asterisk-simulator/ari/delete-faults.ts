/**
 * Slow and lost DELETEs, a test's knob (not a recorded Asterisk behaviour): on a saturated
 * box Asterisk answered hangups and bridge destroys late, and a client whose request timed
 * out cannot know whether the object went (issue 11, item 4). A DELETE of a channel or a
 * bridge can be delayed (Asterisk acts, then answers, after the delay) or dropped: never
 * answered, the object either kept or deleted all the same.
 */

export type DeleteTarget = { readonly kind: 'channel' | 'bridge'; readonly id: string };

export interface DeleteFaults {
  /** Which DELETEs are affected (default: every channel hangup and bridge destroy). */
  readonly match?: (target: DeleteTarget) => boolean;
  /** How long Asterisk takes to act on and answer a matched DELETE: fixed, or uniform in [min, max] ms. */
  readonly delayMs?: number | readonly [number, number];
  /** Fraction (0..1) of matched DELETEs never answered. */
  readonly dropRate?: number;
  /** What a dropped DELETE did: nothing (`kept`), its job without an answer (`deleted`), or either by a coin flip. Default `random`. */
  readonly dropped?: 'kept' | 'deleted' | 'random';
  /** Random source in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

/** What happens to one DELETE. */
export interface DeleteFate {
  readonly delayMs: number;
  /** `answer`: acted on and answered; `drop-kept`: neither; `drop-deleted`: acted on, never answered. */
  readonly outcome: 'answer' | 'drop-kept' | 'drop-deleted';
}

export interface DeleteFaultCounts {
  /** Matched DELETEs answered after a delay. */
  delayed: number;
  /** Matched DELETEs never answered, the object kept. */
  droppedKept: number;
  /** Matched DELETEs never answered, the object deleted. */
  droppedDeleted: number;
}

export function validateDeleteFaults(faults: DeleteFaults): void {
  const { delayMs, dropRate } = faults;
  const delays = typeof delayMs === 'number' ? [delayMs] : (delayMs ?? []);
  for (const d of delays) if (!Number.isFinite(d) || d < 0) throw new RangeError(`deleteFaults.delayMs must be >= 0, got ${d}`);
  if (Array.isArray(delayMs) && (delayMs[0] ?? 0) > (delayMs[1] ?? 0)) throw new RangeError('deleteFaults.delayMs: min above max');
  if (dropRate !== undefined && !(dropRate >= 0 && dropRate <= 1)) throw new RangeError(`deleteFaults.dropRate must be in 0..1, got ${dropRate}`);
}

/** Decides each DELETE's fate and counts what was done. */
export class DeleteFaultPlan {
  #faults: DeleteFaults | null = null;
  readonly counts: DeleteFaultCounts = { delayed: 0, droppedKept: 0, droppedDeleted: 0 };

  get faults(): DeleteFaults | null {
    return this.#faults;
  }

  set faults(faults: DeleteFaults | null) {
    if (faults !== null) validateDeleteFaults(faults);
    this.#faults = faults;
  }

  /** null: not affected (answered as usual). */
  fate(target: DeleteTarget): DeleteFate | null {
    const f = this.#faults;
    if (f === null || (f.match !== undefined && !f.match(target))) return null;
    const random = f.random ?? Math.random;
    const delay = f.delayMs ?? 0;
    const delayMs = typeof delay === 'number' ? delay : delay[0] + random() * (delay[1] - delay[0]);
    if (random() < (f.dropRate ?? 0)) {
      const deleted = f.dropped === 'deleted' || (f.dropped !== 'kept' && random() < 0.5);
      if (deleted) this.counts.droppedDeleted++;
      else this.counts.droppedKept++;
      return { delayMs, outcome: deleted ? 'drop-deleted' : 'drop-kept' };
    }
    if (delayMs > 0) this.counts.delayed++;
    return { delayMs, outcome: 'answer' };
  }
}
