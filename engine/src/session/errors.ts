/** Errors the engine reports about pairs and legs; tests and callers branch on `code`. */
export type EngineErrorCode =
  | 'UNKNOWN_PAIR'
  | 'PAIR_EXISTS'
  | 'INVALID_PAIR'
  | 'PORT_RANGE_EXHAUSTED'
  | 'WORKER_CRASHED'
  | 'ENGINE_CLOSED'
  /** A recording was asked for but the engine has no `recording` settings (no directory). */
  | 'RECORDING_DISABLED'
  /** An operation of one media transport on a leg of the other (setRemote on a WebSocket leg, connectMedia on an RTP leg). */
  | 'WRONG_TRANSPORT'
  /** A WebSocket leg could not connect to Asterisk's media channel (refused, timed out, wrong format, already connected). */
  | 'MEDIA_CONNECT_FAILED'
  /** setRemote named an Asterisk source another leg on the same shared RTP port already receives from. */
  | 'REMOTE_IN_USE';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
  }
}
