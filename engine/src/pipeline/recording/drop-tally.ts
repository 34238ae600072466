/**
 * What a recording lost and why: dropped frames by reason and dropped blocks. A streak of drops for
 * one reason is logged once when it starts and once when writing resumes, so a slow disk cannot
 * flood the log from the 20 ms tick.
 */
import type { Logger } from '../../../../common/src/logger.js';
import type { RecordingDropReason } from './recording-config.js';

export class DropTally {
  droppedFrames = 0;
  blocksDropped = 0;
  readonly droppedByReason: Record<RecordingDropReason, number> = { backpressure: 0, size_limit: 0, write_failed: 0, open_failed: 0 };
  #dropping: RecordingDropReason | null = null;
  #streakFrames = 0;
  readonly #log: Logger;
  /** Log fields naming the recording (its path and write limit). */
  readonly #context: Record<string, unknown>;
  readonly #framesToMs: (frames: number) => number;

  constructor(log: Logger, context: Record<string, unknown>, framesToMs: (frames: number) => number) {
    this.#log = log;
    this.#context = context;
    this.#framesToMs = framesToMs;
  }

  drop(frames: number, reason: RecordingDropReason): void {
    this.droppedFrames += frames;
    this.droppedByReason[reason] += frames;
    this.blocksDropped++;
    if (this.#dropping !== reason) {
      this.#dropping = reason;
      this.#streakFrames = 0;
      this.#log.warn({ reason, ...this.#context }, 'recording is dropping audio');
    }
    this.#streakFrames += frames;
  }

  /** A block was written: a streak of drops, if any, is over. */
  endStreak(): void {
    if (this.#dropping === null) return;
    this.#log.info({ reason: this.#dropping, droppedMs: this.#framesToMs(this.#streakFrames) }, 'recording resumed');
    this.#dropping = null;
  }
}
