import type { Direction } from '../../engine/src/pipeline/stage.js';
import type { StartMessage } from '../../engine/src/pipeline/streaming/protocol.js';

/** What the reference service records of each session and utterance, for tests and demos. */

export interface ReferenceUtterance {
  n: number;
  startMs: number;
  endMs: number;
  text: string;
  /** Bytes of synthesized audio sent back (0 until sent, or if cancelled by clear). */
  audioBytes: number;
}

/** What one session (one connection) received: for tests and demos. */
export interface ReferenceSessionRecord {
  id: string;
  start: StartMessage | null;
  pairId: string | null;
  srcExt: string | null;
  direction: Direction | null;
  bytesReceived: number;
  /** `speech` hints received (the client's VAD); when any arrive, they bound the utterances. */
  speechHints: number;
  utterances: ReferenceUtterance[];
  marksAcked: string[];
  clears: number;
  /** Liveness `ping`s received (each answered with `pong`, unless the stall gate holds it back). */
  pings: number;
  stopped: boolean;
  protocolErrors: string[];
  closed: boolean;
}
