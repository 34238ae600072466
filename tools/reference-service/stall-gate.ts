/**
 * A stalled service, on demand (the soak's `provider-stall` fault): while stalled, every session
 * still reads its audio but sends nothing (no `started`, no transcript, no audio, no mark, no `pong`); what it
 * would have sent is dropped and counted. Released, it answers again; the gate tells how long the
 * first answer after the release took.
 */
export interface StallReport {
  /** How long it stalled. */
  stalledMs: number;
  /** Sessions that received audio or had something to send while stalled. */
  sessionsCaught: number;
  /** Audio bytes read (accepted) while stalled. */
  audioBytesAccepted: number;
  /** Messages (text and binary) the service held back while stalled. */
  messagesWithheld: number;
}

export class StallGate {
  #since: number | null = null;
  #caught = new Set<string>();
  #bytes = 0;
  #withheld = 0;
  #released: number | null = null;
  #firstAnswerAfterRelease: number | null = null;

  get stalled(): boolean {
    return this.#since !== null;
  }

  /** Starts a stall (no-op while one runs). */
  stall(): void {
    if (this.#since !== null) return;
    this.#since = Date.now();
    this.#caught = new Set();
    this.#bytes = 0;
    this.#withheld = 0;
    this.#released = null;
    this.#firstAnswerAfterRelease = null;
  }

  /** Ends the stall: what it caught. */
  release(): StallReport {
    const since = this.#since ?? Date.now();
    this.#since = null;
    this.#released = Date.now();
    return { stalledMs: this.#released - since, sessionsCaught: this.#caught.size, audioBytesAccepted: this.#bytes, messagesWithheld: this.#withheld };
  }

  /** Release → the first message a session was sent after it (null: none yet, or never stalled). */
  get answerAfterReleaseMs(): number | null {
    return this.#released === null || this.#firstAnswerAfterRelease === null ? null : this.#firstAnswerAfterRelease - this.#released;
  }

  /** A session read `bytes` of audio. */
  audio(session: string, bytes: number): void {
    if (this.#since === null) return;
    this.#caught.add(session);
    this.#bytes += bytes;
  }

  /** Whether a session may send now; a message held back by the stall is counted. */
  maySend(session: string): boolean {
    if (this.#since !== null) {
      this.#caught.add(session);
      this.#withheld++;
      return false;
    }
    if (this.#released !== null && this.#firstAnswerAfterRelease === null) this.#firstAnswerAfterRelease = Date.now();
    return true;
  }
}
