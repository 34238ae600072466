export type LoadTestErrorCode = 'INVALID_OPTIONS' | 'DEADLINE' | 'GENERATOR_FAILED' | 'GENERATOR_EXITED';

/** A load test that could not run or finish; `code` says which way. */
export class LoadTestError extends Error {
  override readonly name = 'LoadTestError';
  constructor(
    readonly code: LoadTestErrorCode,
    message: string,
  ) {
    super(message);
  }
}
