/**
 * Which file holds which call's recording, in this node's memory: the engine announces a recording
 * (pair, path) once its file is complete — after the pair closed, and for Ogg/Opus after transcoding —
 * and the call app announces the ended call (pair, record id). Whichever comes second joins them.
 * Bounded to the most recent `max` calls; a restart forgets them (the files stay in the directory).
 */
export class RecordingIndex {
  readonly #max: number;
  /** record id -> file */
  readonly #byRecord = new Map<string, string>();
  /** pair -> a side waiting for its other half */
  readonly #endedCalls = new Map<string, string>();
  readonly #recordings = new Map<string, string>();

  constructor(max = 1000) {
    this.#max = max;
  }

  callEnded(pairId: string, recordId: string): void {
    const path = this.#recordings.get(pairId);
    if (path !== undefined) {
      this.#recordings.delete(pairId);
      this.#set(recordId, path);
    } else {
      this.#endedCalls.set(pairId, recordId);
    }
  }

  recordingDone(pairId: string, path: string): void {
    const recordId = this.#endedCalls.get(pairId);
    if (recordId !== undefined) {
      this.#endedCalls.delete(pairId);
      this.#set(recordId, path);
    } else {
      this.#recordings.set(pairId, path);
    }
  }

  pathOf(recordId: string): string | null {
    return this.#byRecord.get(recordId) ?? null;
  }

  #set(recordId: string, path: string): void {
    this.#byRecord.set(recordId, path);
    while (this.#byRecord.size > this.#max) {
      const oldest = this.#byRecord.keys().next().value;
      if (oldest === undefined) break;
      this.#byRecord.delete(oldest);
    }
  }
}
