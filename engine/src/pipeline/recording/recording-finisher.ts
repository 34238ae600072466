import { rm } from 'node:fs/promises';
import { errorMessage } from '../../../../common/src/errors.js';
import type { Logger } from '../../../../common/src/logger.js';
import { OpusTranscoder } from './opus-transcode.js';
import type { RecordingSummary } from './pair-recorder.js';

/**
 * What becomes of a recording once its pair closed, on the engine's main thread: a WAV is announced
 * as is, or (format 'opus') once transcoded to Ogg/Opus, the WAV then removed. Owns the transcoder.
 */
export class RecordingFinisher {
  readonly #format: 'wav' | 'opus' | undefined;
  readonly #log: Logger;
  readonly #transcoder = new OpusTranscoder();

  constructor(format: 'wav' | 'opus' | undefined, log: Logger) {
    this.#format = format;
    this.#log = log;
  }

  /** A WAV is complete: `announce` gets it as is, or (format 'opus') once transcoded. */
  async finish(pairId: string, summary: RecordingSummary, announce: (summary: RecordingSummary) => void): Promise<void> {
    if (this.#format !== 'opus' || summary.bytes === 0 || !summary.path.endsWith('.wav')) {
      announce(summary);
      return;
    }
    const oggPath = `${summary.path.slice(0, -'.wav'.length)}.opus`;
    try {
      const result = await this.#transcoder.transcode(summary.path, oggPath);
      await rm(summary.path, { force: true });
      this.#log.info({ pairId, path: oggPath, bytes: result.bytes, wavBytes: summary.bytes }, 'recording transcoded to Ogg/Opus');
      announce({ ...summary, path: oggPath, format: 'opus', bytes: result.bytes });
    } catch (err) {
      // The WAV stays: nothing recorded is lost because the encoder failed.
      await rm(oggPath, { force: true }).catch(() => undefined);
      this.#log.error({ pairId, path: summary.path, err: errorMessage(err) }, 'recording not transcoded to Ogg/Opus; the WAV is kept');
      announce({ ...summary, error: summary.error ?? `opus: ${errorMessage(err)}` });
    }
  }

  async close(): Promise<void> {
    await this.#transcoder.close();
  }
}
