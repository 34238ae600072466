import type { TranscriptInput } from '../../../control/src/transcripts/index.js';

/** A valid final of pair_001, 7000 (en) → 7001 (es); `over` changes any field. */
export function transcriptEvent(over: Partial<TranscriptInput> = {}): TranscriptInput {
  return {
    pairId: 'pair_001',
    srcExt: '7000',
    dstExt: '7001',
    direction: 'A->B',
    utteranceId: 'u1',
    language: 'en',
    text: 'hello',
    targetLanguage: 'es',
    translatedText: 'hola',
    startMs: 1000,
    endMs: 2400,
    final: true,
    at: '2026-11-23T01:00:00.000Z',
    ...over,
  };
}

/** Collects unhandled rejections while a test runs; `stop()` returns them. */
export function watchUnhandledRejections(): { stop(): unknown[] } {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  return {
    stop() {
      process.off('unhandledRejection', onRejection);
      return seen;
    },
  };
}
