/**
 * Speech level and clipping of a leg, measured on every decoded frame the leg delivers: one pass over
 * 160–320 samples (a sum of squares and a compare), no allocation. The level is an exponential average
 * of the frames' mean square (time constant ≈ 300 ms), so a reading at any moment says how loud the
 * leg is now; clipping counts samples at full scale since the pair opened.
 */
const FULL_SCALE = 32768;
/** Weight of each 20 ms frame in the average: ≈ 300 ms time constant. */
const ALPHA = 20 / 300;
/** Reported when the leg has been silent (digital zero) or heard nothing yet. */
export const SILENCE_DBFS = -96;

export interface LegLevel {
  /** RMS level of the last ≈ 300 ms, dBFS (−96 for silence or before any frame). */
  rmsDbfs: number;
  /** Samples at full scale (±32767/−32768) since the pair opened. */
  clippedSamples: number;
  /** Frames measured. */
  frames: number;
}

export class LevelMeter {
  #meanSquare = 0;
  #clipped = 0;
  #frames = 0;

  /** One decoded frame (concealed frames are measured too: they are what the leg delivered). */
  measure(pcm: Int16Array, samples: number): void {
    let sum = 0;
    let clipped = 0;
    for (let i = 0; i < samples; i++) {
      const s = pcm[i] ?? 0;
      sum += s * s;
      if (s >= 32767 || s <= -32768) clipped++;
    }
    const ms = samples > 0 ? sum / samples : 0;
    this.#meanSquare = this.#frames === 0 ? ms : this.#meanSquare + ALPHA * (ms - this.#meanSquare);
    this.#clipped += clipped;
    this.#frames++;
  }

  read(): LegLevel {
    const ms = this.#meanSquare;
    const db = ms > 0 ? 10 * Math.log10(ms / (FULL_SCALE * FULL_SCALE)) : SILENCE_DBFS;
    return { rmsDbfs: Math.max(SILENCE_DBFS, Math.round(db * 10) / 10), clippedSamples: this.#clipped, frames: this.#frames };
  }
}
