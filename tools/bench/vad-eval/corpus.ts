/**
 * The speech corpus the VAD's energy gate is judged on (docs/vad.md): espeak-ng
 * sentences and real recorded speech, Debian's `asterisk-core-sounds-en-wav`
 * prompts (Allison Smith, CC-BY-SA-3.0; read from where the package installs
 * them, never copied into this repository), placed on a timeline with silence
 * or noise between them. Each clip's true extent is where its samples first and
 * last rise above −60 dBFS: both sources are trimmed recordings on digital
 * (near-)silence, so that is where the speech is.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { linearToUlaw, ulawToLinear } from '../../../engine/src/codec/index.js';
import { parseWav, resampleS16LE, synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/espeak.js';
import type { VadSampleRate } from '../../../engine/src/pipeline/vad/model.js';

export const ESPEAK_SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'Please call me back tomorrow morning at nine.',
  'Where is the nearest train station?',
  'Four hundred and twelve.',
  'Yes.',
  'I would like to speak to someone in the sales department, please.',
];

/** Short prompts, one phrase each (a prompt of several sentences is several utterances to a VAD). */
export const PROMPTS = [
  'conf-getpin',
  'conf-onlyperson',
  'hello-world',
  'hello',
  'goodbye',
  'please-try-again',
  'pls-hold-while-try',
  'privacy-unident',
  'queue-thankyou',
  'tt-weasels',
  'vm-nobodyavail',
  'vm-theperson',
  'transfer',
  'dir-welcome',
];

export const PROMPT_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison';
/** The prompts' texts ship in the asterisk-core-sounds-en package (the -wav package recommends it). */
const PROMPT_TEXTS = '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz';

export interface Clip {
  name: string;
  source: 'espeak-ng' | 'asterisk-prompt';
  /** What is said (the prompt's transcript when the package ships it). */
  text: string;
  pcm: Int16Array;
}

const LOUD = 32; // −60 dBFS

/** Where speech is in a trimmed clip: first and last sample above −60 dBFS. */
export function speechSpan(pcm: Int16Array): { first: number; last: number } {
  let first = 0;
  while (first < pcm.length && Math.abs(pcm[first]!) < LOUD) first++;
  let last = pcm.length - 1;
  while (last > first && Math.abs(pcm[last]!) < LOUD) last--;
  return { first, last: last + 1 };
}

function toInt16(data: Buffer): Int16Array {
  const out = new Int16Array(data.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = data.readInt16LE(i * 2);
  return out;
}

export async function promptsInstalled(dir = PROMPT_DIR): Promise<boolean> {
  try {
    await access(join(dir, `${PROMPTS[0]}.wav`));
    return true;
  } catch {
    return false;
  }
}

async function promptTexts(): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  try {
    for (const line of gunzipSync(await readFile(PROMPT_TEXTS)).toString('utf8').split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith(';')) texts.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
  } catch {
    // Texts are for the report only.
  }
  return texts;
}

export async function loadPrompt(name: string, rate: VadSampleRate, dir = PROMPT_DIR): Promise<Int16Array> {
  const wav = parseWav(await readFile(join(dir, `${name}.wav`)));
  return toInt16(await resampleS16LE(Buffer.from(wav.data), wav.sampleRate, rate));
}

/** espeak-ng sentences and (when installed) the recorded prompts, at `rate`. */
export async function loadCorpus(rate: VadSampleRate, options: { sentences?: string[]; prompts?: string[] } = {}): Promise<Clip[]> {
  const sentences = options.sentences ?? ESPEAK_SENTENCES;
  const prompts = (await promptsInstalled()) ? (options.prompts ?? PROMPTS) : [];
  const texts = await promptTexts();
  const spoken = await Promise.all(
    sentences.map(async (text, i) => ({ name: `espeak-${i + 1}`, source: 'espeak-ng' as const, text, pcm: await synthesizeSpeechSamples(text, { voice: 'en', sampleRate: rate }) })),
  );
  const recorded = await Promise.all(
    prompts.map(async (name) => ({ name, source: 'asterisk-prompt' as const, text: texts.get(name) ?? name, pcm: await loadPrompt(name, rate) })),
  );
  return [...spoken, ...recorded];
}

export type Background =
  | { kind: 'silence' }
  /** Seeded white noise at `dbfs` RMS. */
  | { kind: 'white'; dbfs: number }
  /** Seeded brown-ish (one-pole low-passed) noise at `dbfs` RMS: most of its energy where speech's is. */
  | { kind: 'rumble'; dbfs: number };

export interface ProgramOptions {
  rate: VadSampleRate;
  /** Silence before the first clip. */
  leadMs: number;
  /** Gaps between clips, cycled (each ≥ the VAD's minSilenceMs so clips are separate utterances). */
  gapsMs: number[];
  tailMs: number;
  background: Background;
  /** Through G.711 µ-law and back, as an 8 kHz phone leg carries it. */
  ulaw: boolean;
  seed: number;
}

export interface Truth {
  clip: string;
  startMs: number;
  endMs: number;
}

export interface Program {
  audio: Int16Array;
  truth: Truth[];
  rate: VadSampleRate;
}

function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 0x100000000) * 2 - 1;
  };
}

function addBackground(audio: Float64Array, background: Background, seed: number): void {
  if (background.kind === 'silence') return;
  const next = seeded(seed);
  const noise = new Float64Array(audio.length);
  let y = 0;
  for (let i = 0; i < noise.length; i++) {
    const w = next();
    if (background.kind === 'white') noise[i] = w;
    else noise[i] = y = 0.97 * y + w;
  }
  let sum = 0;
  for (const v of noise) sum += v * v;
  const gain = (32768 * 10 ** (background.dbfs / 20)) / Math.sqrt(sum / Math.max(1, noise.length));
  for (let i = 0; i < audio.length; i++) audio[i]! += noise[i]! * gain;
}

/** The clips in order on one timeline, with the background under all of it. */
export function buildProgram(clips: Clip[], o: ProgramOptions): Program {
  const perMs = o.rate / 1000;
  const gaps = clips.map((_, i) => (i < clips.length - 1 ? Math.round(o.gapsMs[i % o.gapsMs.length]! * perMs) : 0));
  const total = Math.round((o.leadMs + o.tailMs) * perMs) + clips.reduce((n, c, i) => n + c.pcm.length + gaps[i]!, 0);
  const mix = new Float64Array(total);
  const truth: Truth[] = [];
  let at = Math.round(o.leadMs * perMs);
  clips.forEach((clip, i) => {
    for (let k = 0; k < clip.pcm.length; k++) mix[at + k] = clip.pcm[k]!;
    const span = speechSpan(clip.pcm);
    truth.push({ clip: clip.name, startMs: (at + span.first) / perMs, endMs: (at + span.last) / perMs });
    at += clip.pcm.length + gaps[i]!;
  });
  addBackground(mix, o.background, o.seed);
  const audio = new Int16Array(total);
  for (let i = 0; i < total; i++) {
    const s = Math.max(-32768, Math.min(32767, Math.round(mix[i]!)));
    audio[i] = o.ulaw ? ulawToLinear(linearToUlaw(s)) : s;
  }
  return { audio, truth, rate: o.rate };
}
