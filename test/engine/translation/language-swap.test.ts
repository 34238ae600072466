import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { getCodec } from '../../../engine/src/codec/index.js';
import { JitterBuffer } from '../../../engine/src/jitter/index.js';
import type { Direction, MediaFrame, StageContext } from '../../../engine/src/pipeline/stage.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import { parsePairTranslation, type PairTranslationInput } from '../../../engine/src/pipeline/translation/config.js';
import { PairTranslator } from '../../../engine/src/pipeline/translation/pair-translator.js';
import type { DirectionEvent, VadDecision, VadOpener } from '../../../engine/src/pipeline/translation/translating-stage.js';
import { MediaDirection, type StageSwap } from '../../../engine/src/session/media-direction.js';
import type { RtpLeg } from '../../../engine/src/session/rtp-leg.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { waitFor } from '../../support/rtp-peer.js';
import { taggedDecoder } from '../jitter/helpers.js';

/**
 * A language change during a call reaches a direction at its next pause: one direction of a translated pair
 * (PairTranslator's stages on a MediaDirection) against the reference service over a real WebSocket. The VAD
 * is the test's: it says when the speaker starts and stops, which the reference service answers.
 */

function translation(B: string): PairTranslationInput {
  return { provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'en', B }, directions: ['A->B'] };
}

let service: ReferenceService;

beforeAll(async () => {
  service = await ReferenceService.start();
});

afterAll(async () => {
  await service?.close();
});

/** One A->B direction, ticked every few ms on its own clock (20 ms a tick), with what it reported. */
function direction(pairId: string) {
  const context: StageContext = { pairId, direction: 'A->B', srcExt: '7000', dstExt: '7001' };
  const vads: Array<(decision: VadDecision) => void> = [];
  const opener: VadOpener = (_rate, onDecision) => {
    vads.push(onDecision);
    return { push: () => undefined, close: () => undefined };
  };
  const transcripts: TranscriptEvent[] = [];
  const events: DirectionEvent[] = [];
  const translator = new PairTranslator(
    {
      pairId,
      sampleRate: 8000,
      vad: () => opener,
      onTranscript: (event) => transcripts.push(event),
      onEvent: (_direction: Direction, event) => events.push(event),
      log: logger('test.language-swap'),
    },
    parsePairTranslation(translation('es')),
  );
  const codec = getCodec('ulaw');
  const source = { codec, ext: '7000', jitter: new JitterBuffer(taggedDecoder, { clockRate: 8000, frameSamples: 160 }), lastArrivalMs: Number.NaN } as unknown as RtpLeg;
  const destination = { sendPcm: () => undefined, idleTick: () => undefined } as unknown as RtpLeg;
  let clockMs = 0;
  const media = new MediaDirection(pairId, 'A->B', source, destination, translator.stageFor(context), null, 2, () => clockMs);
  /** Stage output of each tick: the answer's frames come from the provider's playback (status audio), the rest is silence. */
  const answerFrames: number[] = [];
  media.observe({ frame: (_d, _input, output: MediaFrame | null) => void (output?.status === 'audio' && answerFrames.push(clockMs)) });
  const ticker = setInterval(() => {
    clockMs += 20;
    media.tick(clockMs);
  }, 2);
  const sessions = () => service.sessions.filter((s) => s.pairId === pairId);
  const ticks = () => clockMs / 20;
  return {
    context,
    translator,
    media,
    vads,
    transcripts,
    events,
    answerFrames,
    sessions,
    ticks,
    stop: () => clearInterval(ticker),
  };
}

describe('a language change during a call', () => {
  it('finishes the utterance in progress in the old languages and translates the next one in the new', async () => {
    const d = direction('pair_ls1');
    try {
      await waitFor(() => d.sessions().some((s) => s.start !== null), 10_000);
      const old = d.sessions()[0]!;
      expect(old.start?.targetLanguage).toBe('es');
      d.vads.at(-1)!({ type: 'speech_start', startMs: 0 });
      await waitFor(() => old.speechHints === 1);

      // The extension's language changes while the speaker is talking.
      const swaps: StageSwap[] = [];
      d.translator.translation = parsePairTranslation(translation('fr'));
      d.media.replaceStageAtPause(() => d.translator.stageFor(d.context), 60_000, (swap) => swaps.push(swap));
      const asked = d.ticks();
      await waitFor(() => d.ticks() >= asked + 10);
      // Still speaking: no swap, and the new stage's provider session was not opened.
      expect(swaps).toHaveLength(0);
      expect(d.sessions()).toHaveLength(1);

      d.vads.at(-1)!({ type: 'speech_end', startMs: 0, endMs: 1500, decidedMs: 1800 });
      await waitFor(() => swaps.length === 1, 20_000);
      expect(swaps[0]!.forced).toBe(false);
      // By the swap, the utterance had been answered in Spanish and its whole answer played.
      const first = d.transcripts.filter((t) => t.final);
      expect(first).toHaveLength(1);
      expect(first[0]).toMatchObject({ utteranceId: 'u1', language: 'en', targetLanguage: 'es', translatedText: 'utterance 1, 1.5 s' });
      expect(d.events.filter((e) => e.type === 'mark')).toEqual([{ type: 'mark', name: 'utterance-1' }]);
      const answer = old.utterances[0]!;
      expect(answer.audioBytes).toBeGreaterThan(0);
      expect(d.answerFrames).toHaveLength(Math.ceil(answer.audioBytes / 2 / 160));
      await waitFor(() => old.closed);
      expect(old.marksAcked).toEqual(['utterance-1']);

      // The next utterance goes to a new session, in French.
      await waitFor(() => d.sessions().length === 2 && d.sessions()[1]!.start !== null, 10_000);
      const next = d.sessions()[1]!;
      expect(next.start).toMatchObject({ sourceLanguage: 'en', targetLanguage: 'fr' });
      d.vads.at(-1)!({ type: 'speech_start', startMs: 3000 });
      d.vads.at(-1)!({ type: 'speech_end', startMs: 3000, endMs: 4000, decidedMs: 4300 });
      await waitFor(() => d.transcripts.filter((t) => t.final).length === 2, 10_000);
      // A rebuilt stage's utterance ids carry its generation, so they never collide with the first stage's.
      expect(d.transcripts.filter((t) => t.final)[1]).toMatchObject({ utteranceId: '2.u1', targetLanguage: 'fr', translatedText: 'utterance 1, 1.0 s' });
    } finally {
      d.stop();
      d.media.close();
    }
    await waitFor(() => d.sessions().every((s) => s.closed));
  }, 60_000);

  it('a pair closed while a change waits closes its stage and never opens the new one', async () => {
    const d = direction('pair_ls2');
    await waitFor(() => d.sessions().some((s) => s.start !== null), 10_000);
    d.vads.at(-1)!({ type: 'speech_start', startMs: 0 });
    let built = 0;
    d.translator.translation = parsePairTranslation(translation('fr'));
    d.media.replaceStageAtPause(
      () => {
        built++;
        return d.translator.stageFor(d.context);
      },
      60_000,
    );
    const asked = d.ticks();
    await waitFor(() => d.ticks() >= asked + 5);
    d.media.close();
    await waitFor(() => d.sessions()[0]!.closed);
    // Ticks after the close change nothing.
    const closedAt = d.ticks();
    await waitFor(() => d.ticks() >= closedAt + 5);
    d.stop();
    expect(built).toBe(0);
    expect(d.sessions()).toHaveLength(1);
    expect(d.media.swapPending).toBe(false);
  }, 30_000);
});
