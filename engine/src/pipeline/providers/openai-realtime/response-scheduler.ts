import type { ClientEventInput } from './protocol.js';

/**
 * One response at a time: the service runs a single response per session, so a request while one is in progress
 * (or requested and not yet confirmed by response.created) waits until that one is done or refused, then goes out.
 */
export class ResponseScheduler {
  readonly #send: (event: ClientEventInput) => void;
  #activeResponseId: string | null = null;
  /** event_id of our response.create not yet answered by response.created (or refused by an error naming it). */
  #createInFlight: string | null = null;
  /** A commit is waiting for the response in progress to finish before it gets its own. */
  #createPending = false;
  #createSeq = 0;

  constructor(send: (event: ClientEventInput) => void) {
    this.#send = send;
  }

  /** The response the service is producing now, or null. */
  get activeResponseId(): string | null {
    return this.#activeResponseId;
  }

  /** A response is in progress, requested or waiting to be requested: the service still owes an answer. */
  get busy(): boolean {
    return this.#activeResponseId !== null || this.#createInFlight !== null || this.#createPending;
  }

  /** Asks for a response now, or once the one in progress (or requested) is done. */
  request(): void {
    if (this.#activeResponseId !== null || this.#createInFlight !== null) {
      this.#createPending = true;
      return;
    }
    this.#createPending = false;
    const eventId = `tandem_create_${++this.#createSeq}`;
    this.#createInFlight = eventId;
    this.#send({ type: 'response.create', event_id: eventId });
  }

  /** response.created: the response we asked for has begun. */
  created(responseId: string): void {
    this.#activeResponseId = responseId;
    this.#createInFlight = null;
  }

  /** An error naming `eventId`: if it was our response.create, no response.created will come for it. */
  refused(eventId: string | null | undefined): void {
    if (eventId == null || eventId !== this.#createInFlight) return;
    this.#createInFlight = null;
    if (this.#createPending) this.request();
  }

  /** response.done: the next waiting request, if any, goes out. */
  done(responseId: string): void {
    if (this.#activeResponseId === responseId) this.#activeResponseId = null;
    if (this.#createPending) this.request();
  }

  /** A new session: nothing is in progress or waiting (the event-id sequence continues). */
  reset(): void {
    this.#activeResponseId = null;
    this.#createInFlight = null;
    this.#createPending = false;
  }
}
