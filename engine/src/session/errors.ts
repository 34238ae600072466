/** Errors the engine reports about pairs and legs; tests and callers branch on `code`. */
export type EngineErrorCode =
  | 'UNKNOWN_PAIR'
  | 'PAIR_EXISTS'
  | 'INVALID_PAIR'
  | 'PORT_RANGE_EXHAUSTED'
  | 'WORKER_CRASHED'
  | 'ENGINE_CLOSED';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
  }
}
