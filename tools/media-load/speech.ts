import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { linearToUlaw } from '../../engine/src/codec/index.js';

/**
 * The audio the generator plays: 8 kHz µ-law, a whole number of 20 ms frames.
 * Real speech from espeak-ng (resampled by sox) when both are installed, so the
 * engine's jitter buffer and codecs see speech-like signal with pauses;
 * otherwise a tone sweep, and the fallback is logged.
 */
export interface SpeechAudio {
  ulaw: Buffer;
  source: 'espeak-ng' | 'tone-sweep';
  seconds: number;
}

const FRAME_BYTES = 160;
const TOOL_TIMEOUT_MS = 15_000;
const DEFAULT_TEXT =
  'Hello, this is the Tandem load test. Every call gets a pair of extensions, two bridges, and two media legs. ' +
  'The engine mirrors what one side says to the other side, twenty milliseconds at a time. ' +
  'Please hold the line while we count the packets: one, two, three, four, five, six, seven, eight, nine, ten.';

const log = logger('loadtest.speech');

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: TOOL_TIMEOUT_MS, windowsHide: true }, (err) => (err ? reject(new Error(`${file} failed: ${err.message}`)) : resolve()));
  });
}

/** Trims to whole 20 ms frames (at least one). */
function wholeFrames(ulaw: Buffer): Buffer {
  const frames = Math.max(1, Math.floor(ulaw.length / FRAME_BYTES));
  const out = Buffer.alloc(frames * FRAME_BYTES, 0xff);
  ulaw.copy(out, 0, 0, Math.min(ulaw.length, out.length));
  return out;
}

/** Synthesises `text` with espeak-ng and converts it with sox; throws if either is missing or fails. */
export async function synthesizeSpeech(text: string = DEFAULT_TEXT): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-speech-'));
  try {
    const wav = join(dir, 'speech.wav');
    const raw = join(dir, 'speech.ul');
    await run('espeak-ng', ['-v', 'en', '-s', '150', '-w', wav, text]);
    await run('sox', [wav, '-r', '8000', '-c', '1', '-e', 'u-law', '-t', 'raw', raw]);
    const ulaw = await readFile(raw);
    if (ulaw.length < FRAME_BYTES) throw new Error(`sox produced only ${ulaw.length} bytes`);
    return wholeFrames(ulaw);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A logarithmic 300 Hz → 3 kHz sweep and back, `seconds` long, at −12 dBFS. */
export function toneSweep(seconds = 4): Buffer {
  const rate = 8000;
  const samples = Math.max(FRAME_BYTES, Math.round((seconds * rate) / FRAME_BYTES) * FRAME_BYTES);
  const out = Buffer.alloc(samples);
  const half = samples / 2;
  const lo = Math.log(300);
  const hi = Math.log(3000);
  let phase = 0;
  for (let i = 0; i < samples; i++) {
    const x = i < half ? i / half : (samples - i) / half;
    const freq = Math.exp(lo + (hi - lo) * x);
    phase += (2 * Math.PI * freq) / rate;
    out[i] = linearToUlaw(Math.round(8192 * Math.sin(phase)));
  }
  return out;
}

/** Speech when the tools are there, a tone sweep otherwise. Never throws. */
export async function loadSpeechAudio(options: { text?: string; preferTone?: boolean } = {}): Promise<SpeechAudio> {
  if (!options.preferTone) {
    try {
      const ulaw = await synthesizeSpeech(options.text);
      return { ulaw, source: 'espeak-ng', seconds: ulaw.length / 8000 };
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'espeak-ng/sox unavailable; the load test plays a tone sweep instead of speech');
    }
  }
  const ulaw = toneSweep();
  return { ulaw, source: 'tone-sweep', seconds: ulaw.length / 8000 };
}
