import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { linearToUlaw, ulawToLinear } from '../../engine/src/codec/index.js';
import type { ConversationSpec, CoreResult } from './generator-protocol.js';
import { synthesizeSpeech, toneSweep } from './speech.js';

/**
 * Turn-taking for `tandem loadtest --translate`: a pair's two parties take
 * turns instead of talking at once. Both legs play one script, half a turn
 * apart. The script is n segments, each [utterance i, padded with silence to a
 * turn][a turn of silence]; leg B plays it a turn after leg A, so while A says
 * utterance i, B is silent, then A is silent while B says utterance i + 1, and
 * so on. A turn is the longest utterance plus `answerWaitMs`: after each
 * utterance the speaker is silent at least that long before the other party
 * speaks, time for the translation to be heard.
 *
 * The generator cores only play audio from a start frame; which utterances a
 * stream played whole follows from where it started and how many frames it
 * sent (utterancesPlayed), so the C core and the Node core need no script
 * logic. Pauses carry no frame tags: digital silence (µ-law 0xFF), or white
 * noise at `backgroundDbfs` (a line's hiss, which the VAD's adaptive gate
 * learns and the absolute floor does not skip), so the engine's VAD gate sees
 * what a listening party sends.
 */
export interface ConversationScript {
  /** The script, 8 kHz µ-law, whole 20 ms frames: 2 · turnFrames per utterance. */
  ulaw: Buffer;
  source: 'espeak-ng' | 'tone-sweep';
  turnFrames: number;
  /** Utterance i speaks over frames [startFrame, endFrame); muted ones are background but count as sent. */
  utterances: ReadonlyArray<{ startFrame: number; endFrame: number; muted: boolean }>;
  /** Longest utterance, frames. */
  longestFrames: number;
}

export const FRAME_MS = 20;
const FRAME_BYTES = 160;
const ULAW_SILENCE = 0xff;
/**
 * An utterance counts as sent once this much silence after it was sent too:
 * the VAD's 300 ms of silence that ends it, plus its 32 ms chunking and margin.
 * A stream that stops sooner (the end of the run) may still have it detected:
 * the report counts that as extra, never as missed.
 */
export const UTTERANCE_TAIL_FRAMES = 25;
/** Frames above this mean |sample| (about −45 dBFS) are speech when trimming a synthesized sentence. */
const SPEECH_MEAN_ABS = 180;

/** Short sentences without commas: espeak-ng pauses at a comma, and a pause over 300 ms would split an utterance. */
export const CONVERSATION_SENTENCES = [
  'Good morning and thank you for calling the front desk',
  'I would like to book a table for two people tonight',
  'Of course we have a free table at eight o clock',
  'That sounds perfect and could we sit near the window',
  'Yes I will note it down for you right away',
  'Thank you very much and see you this evening',
] as const;

const log = logger('loadtest.conversation');

/** Mean |sample| of each 20 ms frame. */
function frameLevels(ulaw: Buffer): number[] {
  const levels: number[] = [];
  for (let f = 0; f + FRAME_BYTES <= ulaw.length; f += FRAME_BYTES) {
    let sum = 0;
    for (let i = f; i < f + FRAME_BYTES; i++) sum += Math.abs(ulawToLinear(ulaw[i]!));
    levels.push(sum / FRAME_BYTES);
  }
  return levels;
}

/** The sentence without its leading and trailing silence (espeak-ng pads both ends). */
export function trimSilence(ulaw: Buffer): Buffer {
  const levels = frameLevels(ulaw);
  const first = levels.findIndex((l) => l > SPEECH_MEAN_ABS);
  if (first < 0) return Buffer.alloc(0);
  let last = levels.length - 1;
  while (levels[last]! <= SPEECH_MEAN_ABS) last--;
  return Buffer.from(ulaw.subarray(first * FRAME_BYTES, (last + 1) * FRAME_BYTES));
}

/** µ-law white noise at `dbfs` (RMS), from a fixed-seed generator: the same script every run. */
export function backgroundNoise(bytes: number, dbfs: number): Buffer {
  const rms = 32767 * 10 ** (dbfs / 20);
  // Uniform on [−a, a] has RMS a/√3.
  const a = rms * Math.sqrt(3);
  let seed = 0x2545f491;
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = linearToUlaw(Math.round((seed / 0x1_0000_0000 - 0.5) * 2 * a));
  }
  return out;
}

/** Lays the utterances out as turns (see the module comment). */
export function layOutScript(utterances: readonly Buffer[], spec: ConversationSpec, source: ConversationScript['source']): ConversationScript {
  if (utterances.length < 2) throw new RangeError(`a conversation needs at least two utterances, got ${utterances.length}`);
  const frames = utterances.map((u) => Math.floor(u.length / FRAME_BYTES));
  if (frames.some((f) => f < 1)) throw new RangeError('every utterance must hold at least one frame of speech');
  const longestFrames = Math.max(...frames);
  const turnFrames = longestFrames + Math.max(UTTERANCE_TAIL_FRAMES, Math.ceil(spec.answerWaitMs / FRAME_MS));
  const muted = new Set(spec.mutedUtterances ?? []);
  for (const i of muted) if (i >= utterances.length) throw new RangeError(`muted utterance ${i} is not in the script of ${utterances.length}`);
  const bytes = utterances.length * 2 * turnFrames * FRAME_BYTES;
  const ulaw = spec.backgroundDbfs === undefined ? Buffer.alloc(bytes, ULAW_SILENCE) : backgroundNoise(bytes, spec.backgroundDbfs);
  const laidOut = utterances.map((u, i) => {
    const startFrame = 2 * i * turnFrames;
    if (!muted.has(i)) u.copy(ulaw, startFrame * FRAME_BYTES, 0, frames[i]! * FRAME_BYTES);
    return { startFrame, endFrame: startFrame + frames[i]!, muted: muted.has(i) };
  });
  return { ulaw, source, turnFrames, utterances: laidOut, longestFrames };
}

/** The conversation script: espeak-ng sentences when it (and sox) are there, else tone bursts of different lengths. */
export async function buildConversationScript(spec: ConversationSpec, options: { preferTone?: boolean } = {}): Promise<ConversationScript> {
  if (!options.preferTone) {
    try {
      const spoken = await Promise.all(CONVERSATION_SENTENCES.map(async (text) => trimSilence(await synthesizeSpeech(text))));
      return layOutScript(spoken, spec, 'espeak-ng');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'espeak-ng/sox unavailable; the conversation plays tone bursts instead of speech');
    }
  }
  const bursts = [1.2, 1.8, 1.4, 2.2, 1.6, 1.0].map((s) => toneSweep(s));
  return layOutScript(bursts, spec, 'tone-sweep');
}

/**
 * Where pair `pairIndex`'s legs start, in frames: both in silence (A in the
 * silent turn of one segment, B a turn later, after the next utterance's
 * speech), pairs spread over the script and over the answer wait so they do
 * not speak in step. A speaks first.
 */
export function conversationStart(script: ConversationScript, pairIndex: number): [number, number] {
  const n = script.utterances.length;
  const T = script.turnFrames;
  const spread = T - script.longestFrames;
  const delta = script.longestFrames + ((pairIndex * 7) % spread);
  const a = 2 * (pairIndex % n) * T + T + delta;
  return [a % (2 * n * T), (a + T) % (2 * n * T)];
}

/**
 * Utterances of the script a stream played whole: from its start frame for
 * `frames` frames (looping), each counted once its first frame and the
 * silence the VAD needs after its last were both sent. `which` picks the
 * utterances (all by default).
 */
export function utterancesPlayed(script: ConversationScript, startFrame: number, frames: number, which: (i: number) => boolean = () => true): number {
  const F = script.ulaw.length / FRAME_BYTES;
  let count = 0;
  script.utterances.forEach((u, i) => {
    if (!which(i)) return;
    const mark = u.endFrame + UTTERANCE_TAIL_FRAMES;
    // Occurrences m with u.startFrame + m·F ≥ startFrame and mark + m·F ≤ startFrame + frames.
    const lo = Math.ceil((startFrame - u.startFrame) / F);
    const hi = Math.floor((startFrame + frames - mark) / F);
    if (hi >= lo) count += hi - lo + 1;
  });
  return count;
}

/** The result's conversation part: utterances each stream played whole (and of those, muted ones), from its frame count. */
export function conversationResult(script: ConversationScript, streamFrames: ReadonlyArray<readonly [number, number]>): NonNullable<CoreResult['conversation']> {
  const sent: Array<[number, number]> = [];
  const muted: Array<[number, number]> = [];
  for (const [gid, frames] of streamFrames) {
    const [startA, startB] = conversationStart(script, gid >> 1);
    const start = (gid & 1) === 0 ? startA : startB;
    sent.push([gid, utterancesPlayed(script, start, frames)]);
    muted.push([gid, utterancesPlayed(script, start, frames, (i) => script.utterances[i]!.muted)]);
  }
  sent.sort((a, b) => a[0] - b[0]);
  muted.sort((a, b) => a[0] - b[0]);
  return { turnMs: script.turnFrames * FRAME_MS, scriptUtterances: script.utterances.length, sent, muted };
}
