/**
 * The cheap per-chunk test in front of Silero: does this 32 ms chunk need the
 * model, or is it plainly the line's own background? One number per chunk
 * (its mean square, which push() already sums while copying), a log10 and a
 * few comparisons: about a thousandth of a Silero inference.
 *
 * Two levels decide:
 * - an absolute floor (`energyGateDbfs`): nothing quieter is speech a listener
 *   could hear on a phone line, so such a chunk is silence at once, whatever
 *   the segmenter is doing (an idle or muted leg costs no inference at all);
 * - an adaptive noise floor: a chunk at least `marginDb` above the line's
 *   background opens the gate, which then stays open for `hangoverChunks`
 *   after the last such chunk and for as long as the caller says the model's
 *   judgement is still needed (an utterance, or a pending end, in progress:
 *   Silero, not the gate, decides where speech ends).
 *
 * The floor follows the classic asymmetric tracker (as in energy-based VADs
 * since G.729 Annex B and WebRTC's noise estimate): it falls quickly towards
 * a quieter chunk (30 % of the way per chunk: a single dropout cannot pull it
 * down to nothing) and rises slowly (`riseDbPerChunk`), so a new, louder
 * background is learnt in seconds while an utterance, which keeps pausing
 * between syllables, cannot drag the floor up to its own level.
 *
 * The gate only ever errs towards the model: the first chunks of a stream,
 * anything louder than the background, and the hangover all go to Silero.
 * Pure and synchronous; one per stream.
 */
export interface EnergyGateSettings {
  /** Chunks below this (dBFS) are silence without the model; null: no gate at all (every chunk to the model). */
  absoluteDbfs: number | null;
  /** Learn the line's background and skip chunks near it; false: only the absolute floor gates. */
  adaptive: boolean;
  /** How far above the background (dB) a chunk must be to need the model. */
  marginDb: number;
  /** Chunks the gate stays open after the last one above the margin. */
  hangoverChunks: number;
  /** How fast the background estimate may rise, per chunk (dB). */
  riseDbPerChunk: number;
}

/** int16 full scale, squared: mean squares are on the int16 scale. */
const FULL_SCALE_SQUARED = 32768 * 32768;
/** Below any real signal (digital zero): keeps log10 finite. */
const SILENT_DB = -150;
/** Share of the gap the floor falls per quieter chunk. */
const FALL = 0.3;

export function meanSquareDbfs(meanSquare: number): number {
  return meanSquare > 0 ? Math.max(SILENT_DB, 10 * Math.log10(meanSquare / FULL_SCALE_SQUARED)) : SILENT_DB;
}

export class EnergyGate {
  readonly #s: EnergyGateSettings;
  /** The background estimate in dBFS; NaN until the first chunk above the absolute floor. */
  #floorDb = Number.NaN;
  #hangover: number;

  constructor(settings: EnergyGateSettings) {
    this.#s = { ...settings };
    // A new stream knows nothing of its line: its first chunks all go to the model.
    this.#hangover = settings.hangoverChunks;
  }

  /** The background estimate (dBFS), or null before it has one. */
  get floorDbfs(): number | null {
    return Number.isNaN(this.#floorDb) ? null : this.#floorDb;
  }

  /**
   * What the chunk with this mean square (int16 scale) is: 'model' (needs
   * it), 'background' (near the learnt background) or 'silent' (under the
   * absolute floor). `busy`: the model's judgement is still needed above the
   * absolute floor (an utterance or its pending end in progress, or earlier
   * chunks not yet answered).
   */
  classify(meanSquare: number, busy: boolean): 'model' | 'background' | 'silent' {
    const s = this.#s;
    if (s.absoluteDbfs === null) return 'model';
    const db = meanSquareDbfs(meanSquare);
    if (db < s.absoluteDbfs) return 'silent';
    if (!s.adaptive) return 'model';
    const floor = this.#floorDb;
    const loud = Number.isNaN(floor) || db >= floor + s.marginDb;
    this.#track(db);
    if (loud) {
      this.#hangover = s.hangoverChunks;
      return 'model';
    }
    if (this.#hangover > 0) {
      this.#hangover--;
      return 'model';
    }
    return busy ? 'model' : 'background';
  }

  /** Whether the chunk needs the model (classify() is 'model'). */
  needsModel(meanSquare: number, busy: boolean): boolean {
    return this.classify(meanSquare, busy) === 'model';
  }

  #track(db: number): void {
    const floor = this.#floorDb;
    if (Number.isNaN(floor)) this.#floorDb = db;
    else if (db < floor) this.#floorDb = floor + (db - floor) * FALL;
    else this.#floorDb = floor + Math.min(db - floor, this.#s.riseDbPerChunk);
  }
}
