import { describe, expect, it } from 'vitest';
import { ulawToLinear } from '../../../engine/src/codec/index.js';
import {
  backgroundNoise,
  conversationResult,
  conversationStart,
  layOutScript,
  trimSilence,
  utterancesPlayed,
  UTTERANCE_TAIL_FRAMES,
  type ConversationScript,
} from '../../../tools/media-load/conversation.js';
import { ConversationTally, pairIndexOf } from '../../../tools/media-load/conversation-tally.js';
import { toneSweep } from '../../../tools/media-load/speech.js';

const FRAME = 160;
const SILENCE = 0xff;

/** Utterances of 10, 30, 20 and 40 frames (tone bursts), answer wait 1 s = 50 frames. */
function script(muted: number[] = []): ConversationScript {
  const bursts = [10, 30, 20, 40].map((frames) => toneSweep((frames * FRAME) / 8000));
  return layOutScript(bursts, { answerWaitMs: 1000, mutedUtterances: muted }, 'tone-sweep');
}

function isSilent(s: ConversationScript, frame: number): boolean {
  const F = s.ulaw.length / FRAME;
  const f = ((frame % F) + F) % F;
  return s.ulaw.subarray(f * FRAME, (f + 1) * FRAME).every((b) => b === SILENCE);
}

describe('conversation script', () => {
  it('lays utterances out as turns: each padded to the longest plus the answer wait, then a turn of silence', () => {
    const s = script();
    expect(s.longestFrames).toBe(40);
    expect(s.turnFrames).toBe(90);
    expect(s.ulaw.length).toBe(4 * 2 * 90 * FRAME);
    expect(s.utterances.map((u) => [u.startFrame, u.endFrame])).toEqual([
      [0, 10],
      [180, 210],
      [360, 380],
      [540, 580],
    ]);
    for (const u of s.utterances) {
      expect(isSilent(s, u.startFrame)).toBe(false);
      expect(isSilent(s, u.endFrame - 1)).toBe(false);
      expect(isSilent(s, u.endFrame)).toBe(true);
      expect(isSilent(s, u.startFrame - 1)).toBe(true);
    }
  });

  it('starts both legs of every pair in silence, and they never speak at once', () => {
    const s = script();
    const F = s.ulaw.length / FRAME;
    for (let pair = 0; pair < 40; pair++) {
      const [a, b] = conversationStart(s, pair);
      expect(isSilent(s, a), `pair ${pair} A`).toBe(true);
      expect(isSilent(s, b), `pair ${pair} B`).toBe(true);
      let overlaps = 0;
      let spokeA = 0;
      let spokeB = 0;
      for (let k = 0; k < F; k++) {
        const speakA = !isSilent(s, a + k);
        const speakB = !isSilent(s, b + k);
        if (speakA && speakB) overlaps++;
        if (speakA) spokeA++;
        if (speakB) spokeB++;
      }
      expect(overlaps).toBe(0);
      // Over one loop each party says every sentence once.
      expect(spokeA).toBe(100);
      expect(spokeB).toBe(100);
    }
    // Pairs do not all start at the same place.
    expect(new Set(Array.from({ length: 8 }, (_, p) => conversationStart(s, p)[0])).size).toBe(8);
  });

  it('counts an utterance once its first frame and the silence the VAD needs after it were played', () => {
    const s = script();
    const F = s.ulaw.length / FRAME;
    const u1 = s.utterances[1]!; // frames 180..210
    expect(utterancesPlayed(s, 100, 80)).toBe(0);
    expect(utterancesPlayed(s, 100, 210 + UTTERANCE_TAIL_FRAMES - 100 - 1)).toBe(0); // tail one frame short
    expect(utterancesPlayed(s, 100, 210 + UTTERANCE_TAIL_FRAMES - 100)).toBe(1);
    // Started inside an utterance: that one does not count, the next ones do.
    expect(utterancesPlayed(s, u1.startFrame + 1, 400)).toBe(1);
    // Looping: three whole loops from a silent start say every utterance three times.
    expect(utterancesPlayed(s, 100, 3 * F)).toBe(12);
    expect(utterancesPlayed(s, 100, 3 * F, (i) => i === 1)).toBe(3);
  });

  it('replaces muted utterances with silence and reports them among the sent', () => {
    const s = script([2]);
    expect(s.utterances[2]!.muted).toBe(true);
    for (let f = s.utterances[2]!.startFrame; f < s.utterances[2]!.endFrame; f++) expect(isSilent(s, f)).toBe(true);
    const F = s.ulaw.length / FRAME;
    const result = conversationResult(s, [
      [1, F],
      [0, F],
    ]);
    expect(result.turnMs).toBe(90 * 20);
    expect(result.scriptUtterances).toBe(4);
    // Sorted by stream; one loop from a silent start says each of the 4 utterances except those cut by the start.
    expect(result.sent.map(([gid]) => gid)).toEqual([0, 1]);
    for (const [gid, n] of result.sent) {
      const start = conversationStart(s, gid >> 1)[gid & 1]!;
      expect(n).toBe(utterancesPlayed(s, start, F));
      expect(n).toBeGreaterThanOrEqual(3);
    }
    expect(result.muted.every(([, n]) => n <= 1)).toBe(true);
    expect(result.muted.reduce((t, [, n]) => t + n, 0)).toBeGreaterThanOrEqual(1);
    expect(() => layOutScript([toneSweep(0.2), toneSweep(0.2)], { answerWaitMs: 0, mutedUtterances: [2] }, 'tone-sweep')).toThrow(/not in the script/);
    expect(() => layOutScript([toneSweep(0.2)], { answerWaitMs: 0 }, 'tone-sweep')).toThrow(/at least two/);
  });

  it('fills the pauses with white noise at the asked level when given one, the same every time', () => {
    const noise = backgroundNoise(8000, -50);
    let sum = 0;
    for (const b of noise) sum += ulawToLinear(b) ** 2;
    const dbfs = 10 * Math.log10(sum / noise.length / 32767 ** 2);
    expect(dbfs).toBeGreaterThan(-51.5);
    expect(dbfs).toBeLessThan(-48.5);
    expect(backgroundNoise(8000, -50).equals(noise)).toBe(true);
    const bursts = [10, 30].map((frames) => toneSweep((frames * FRAME) / 8000));
    const s = layOutScript(bursts, { answerWaitMs: 1000, backgroundDbfs: -50 }, 'tone-sweep');
    // A pause is noise, not digital silence, and the utterances are where they were.
    expect(isSilent(s, s.utterances[0]!.endFrame + 5)).toBe(false);
    expect(s.utterances.map((u) => [u.startFrame, u.endFrame])).toEqual(layOutScript(bursts, { answerWaitMs: 1000 }, 'tone-sweep').utterances.map((u) => [u.startFrame, u.endFrame]));
  });

  it('trims the silence around a sentence', () => {
    const speech = toneSweep(0.4);
    const padded = Buffer.concat([Buffer.alloc(5 * FRAME, SILENCE), speech, Buffer.alloc(7 * FRAME, SILENCE)]);
    const trimmed = trimSilence(padded);
    expect(trimmed.length).toBeGreaterThanOrEqual(speech.length - 2 * FRAME);
    expect(trimmed.length).toBeLessThanOrEqual(speech.length);
    expect(trimSilence(Buffer.alloc(4 * FRAME, SILENCE)).length).toBe(0);
  });
});

describe('ConversationTally', () => {
  it('counts missed and extra per stream, so a stray detection on one stream does not hide a miss on another', async () => {
    const tally = new ConversationTally();
    // Pair 0: A sent 2, detected 1 (one missed); B sent 1, detected 2 (one extra). Pair 3: A sent 1, detected 1.
    tally.speechEnded('lt_00000', 'A->B');
    tally.speechEnded('lt_00000', 'B->A');
    tally.speechEnded('lt_00000', 'B->A');
    tally.speechEnded('lt_00003', 'A->B');
    tally.answered('lt_00000', 'A->B', 5);
    tally.answered('lt_00003', 'A->B', 7);
    tally.transcribed('lt_00003', 'A->B');
    tally.speechEnded('not-a-load-pair', 'A->B');
    const sent: Array<[number, number]> = [
      [0, 2],
      [1, 1],
      [6, 1],
    ];
    await tally.settle(sent, { quietMs: 20, maxMs: 1000 });
    // Frozen: what happens while the pairs close is not counted.
    tally.speechEnded('lt_00000', 'A->B');
    const c = tally.section({ turnMs: 5000, scriptUtterances: 6, sent, muted: [[0, 1]] }, { answerWaitMs: 2500 });
    expect(c.directions['A->B']).toMatchObject({ sent: 3, detected: 2, missed: 1, extra: 0, muted: 1, answered: 2, transcripts: 1 });
    expect(c.directions['A->B'].tandem).toMatchObject({ count: 2, p50_ms: 5, p99_ms: 7 });
    expect(c.directions['B->A']).toMatchObject({ sent: 1, detected: 2, missed: 0, extra: 1, answered: 0 });
    expect(c).toMatchObject({ mode: 'turns', turn_ms: 5000, sent: 4, detected: 4, missed: 1, extra: 1, muted: 1 });
    expect(c.settle_ms).toBeGreaterThanOrEqual(0);
  });

  it('settles as soon as every stream caught up (detected, answered, transcribed), without waiting for the quiet period', async () => {
    const tally = new ConversationTally();
    const settled = tally.settle([[0, 1]], { quietMs: 60_000, maxMs: 60_000 });
    tally.speechEnded('lt_00000', 'A->B');
    tally.answered('lt_00000', 'A->B', 3);
    tally.transcribed('lt_00000', 'A->B');
    await settled;
    expect(tally.section({ turnMs: 1, scriptUtterances: 2, sent: [[0, 1]], muted: [] }, { answerWaitMs: 0, backgroundDbfs: -50 })).toMatchObject({
      sent: 1,
      detected: 1,
      missed: 0,
      answer_wait_ms: 0,
      background_dbfs: -50,
    });
    expect(pairIndexOf('lt_00042')).toBe(42);
    expect(pairIndexOf('call_1')).toBe(-1);
  });
});
