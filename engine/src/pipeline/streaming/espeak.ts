/**
 * Local speech synthesis with espeak-ng (the Debian package), resampled by sox:
 * a translated text can be spoken without any cloud service, and tests get real
 * speech to feed the pipeline. Both run as child processes with a deadline.
 */
import { spawn } from 'node:child_process';
import { TimeoutError } from '../../../../common/src/errors.js';
import { readWav, WavReadError, type WavContent } from '../../codec/wav-read.js';

export interface SynthesizeOptions {
  /** espeak-ng voice, e.g. "en", "es", "fr" (`espeak-ng --voices`). */
  voice: string;
  /** Output rate of the returned PCM. */
  sampleRate: number;
  /** Words per minute (espeak's default is 175). */
  wordsPerMinute?: number;
  timeoutMs?: number;
}

/** What went wrong synthesising; `code` is what callers branch on. */
export class SynthesisError extends Error {
  override readonly name = 'SynthesisError';
  constructor(
    readonly code: 'spawn_failed' | 'exit_status' | 'bad_wav' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
const VOICE_PATTERN = /^[a-z]{2,3}(-[a-z0-9]{1,8})*(\+[a-z0-9]+)?$/i;

function run(command: string, args: string[], input: Buffer | null, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let settled = false;
    const finish = (err: Error | null, out?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(out ?? Buffer.alloc(0));
    };
    const timer = setTimeout(() => finish(new TimeoutError(`${command} took longer than ${timeoutMs} ms`)), timeoutMs);
    child.on('error', (err) => finish(new SynthesisError('spawn_failed', `${command}: ${err.message}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) finish(new SynthesisError('too_large', `${command} wrote more than ${MAX_OUTPUT_BYTES} bytes`));
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => {
      if (code === 0) finish(null, Buffer.concat(chunks));
      else finish(new SynthesisError('exit_status', `${command} exited with ${code}: ${stderr.trim().slice(0, 200)}`));
    });
    // EPIPE when the child dies early is reported through 'close'.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? undefined);
  });
}

interface Wav {
  sampleRate: number;
  /** Little-endian s16 mono bytes. */
  data: Buffer;
}

/** Reads a RIFF/WAVE with 16-bit mono PCM (codec/wav-read.ts: the data chunk's declared size is ignored). */
export function parseWav(buf: Buffer): Wav {
  let wav: WavContent;
  try {
    wav = readWav(buf);
  } catch (err) {
    if (err instanceof WavReadError) throw new SynthesisError('bad_wav', err.message);
    throw err;
  }
  if (wav.format !== 1 || wav.channels !== 1 || wav.bitsPerSample !== 16) {
    throw new SynthesisError('bad_wav', `need 16-bit mono PCM, got format ${wav.format}, ${wav.channels} ch, ${wav.bitsPerSample} bit`);
  }
  return { sampleRate: wav.sampleRate, data: wav.data };
}

/** Resamples little-endian s16 mono PCM with sox (its default high-quality rate converter). */
export async function resampleS16LE(data: Buffer, fromRate: number, toRate: number, timeoutMs = 10_000): Promise<Buffer> {
  if (fromRate === toRate) return data;
  const raw = (rate: number): string[] => ['-t', 'raw', '-r', String(rate), '-e', 'signed-integer', '-b', '16', '-c', '1', '-L'];
  return run('sox', ['-q', ...raw(fromRate), '-', ...raw(toRate), '-'], data, timeoutMs);
}

/**
 * Speaks `text` with espeak-ng and returns little-endian s16 mono PCM at
 * `sampleRate`. The text goes as an argument after `--`, never through a shell.
 */
export async function synthesizeSpeech(text: string, options: SynthesizeOptions): Promise<Buffer> {
  if (!VOICE_PATTERN.test(options.voice)) throw new RangeError(`invalid espeak-ng voice ${JSON.stringify(options.voice)}`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const args = ['-v', options.voice, '-s', String(options.wordsPerMinute ?? 175), '--stdout', '--', text];
  const wav = parseWav(await run('espeak-ng', args, null, timeoutMs));
  return resampleS16LE(wav.data, wav.sampleRate, options.sampleRate, timeoutMs);
}

/** The same as synthesizeSpeech, as samples (a copy, so it is aligned). */
export async function synthesizeSpeechSamples(text: string, options: SynthesizeOptions): Promise<Int16Array> {
  const bytes = await synthesizeSpeech(text, options);
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(2 * i);
  return out;
}
