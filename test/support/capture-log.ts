import { loggerTo, type Logger } from '../../common/src/logger.js';

export interface CapturedLog {
  /** Hand this to the component under test. */
  log: Logger;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown> & { msg?: string; level: number }>;
  /** Every line as written (to look for secrets anywhere in them). */
  text(): string;
}

/** A logger with Tandem's settings (redaction included) that keeps what it writes, for assertions. */
export function captureLog(namespace = 'test'): CapturedLog {
  const written: string[] = [];
  const log = loggerTo({ write: (line: string) => void written.push(line) }, namespace);
  return {
    log,
    lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown> & { msg?: string; level: number }),
    text: () => written.join(''),
  };
}
