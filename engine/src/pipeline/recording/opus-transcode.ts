import { open, stat } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { Piscina } from 'piscina';
import { RECORDING_FILE_MODE } from './sink.js';
import { OggOpusStream } from './ogg-opus.js';
import { WAV_HEADER_BYTES } from './wav.js';

/** prism-media's Opus encoder, typed for what is used here (the package ships no types). */
interface OpusEncoderStream {
  write(chunk: Buffer): boolean;
  end(): void;
  on(event: 'data', listener: (packet: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  setBitrate(bitrate: number): void;
}
interface PrismMedia {
  opus: { Encoder: new (options: { rate: number; channels: number; frameSize: number }) => OpusEncoderStream };
}

const require = createRequire(import.meta.url);

/** The WAV's four channels (1 A original, 2 B original, 3 heard by B, 4 heard by A) as two stereo streams, A left. */
const STREAMS = [
  { serial: 0x5441_4e31, title: 'what each party said (left: leg A, right: leg B)', left: 0, right: 1 },
  { serial: 0x5441_4e32, title: 'what each party heard (left: leg A, right: leg B)', left: 3, right: 2 },
] as const;
const WAV_CHANNELS = 4;
/** Per stream: 24 kb/s stereo speech, about 11 % of the 8 kHz WAV's size. */
const BITRATE = 24_000;

export interface OpusTranscodeResult {
  path: string;
  bytes: number;
  durationMs: number;
}

/**
 * Turns a pair's finished 4-channel WAV into one Ogg/Opus file with two stereo logical streams: the
 * originals (what each leg said) and what each leg heard (on a translated call, the translation).
 * Encoded by prism-media's Opus encoder (opusscript, pure WebAssembly: nothing native, nothing
 * downloaded at install) at the WAV's own rate (8 or 16 kHz; Opus takes both). Reads one second at a
 * time, so a long call costs no more memory than a short one. CPU-heavy: run it off the packet path
 * (OpusTranscoder).
 */
export async function transcodeWavToOggOpus(wavPath: string, oggPath: string): Promise<OpusTranscodeResult> {
  const prism = require('prism-media') as PrismMedia;
  const input = await open(wavPath, 'r');
  const output = await open(oggPath, 'wx', RECORDING_FILE_MODE);
  try {
    await output.chmod(RECORDING_FILE_MODE);
    const header = Buffer.alloc(WAV_HEADER_BYTES);
    await input.read(header, 0, WAV_HEADER_BYTES, 0);
    const channels = header.readUInt16LE(22);
    const sampleRate = header.readUInt32LE(24);
    if (header.toString('latin1', 0, 4) !== 'RIFF' || channels !== WAV_CHANNELS || (sampleRate !== 8000 && sampleRate !== 16000)) {
      throw new Error(`${wavPath} is not a pair recording (4-channel 8/16 kHz WAV)`);
    }
    const frameSamples = sampleRate / 50;
    let position = 0;
    const writePage = async (page: Buffer): Promise<void> => {
      await output.write(page, 0, page.length, position);
      position += page.length;
    };
    const streams = STREAMS.map((s) => {
      const encoder = new prism.opus.Encoder({ rate: sampleRate, channels: 2, frameSize: frameSamples });
      encoder.setBitrate(BITRATE);
      const packets: Buffer[] = [];
      let failure: Error | null = null;
      encoder.on('data', (packet) => packets.push(packet));
      encoder.on('error', (err) => (failure = err));
      return { ...s, ogg: new OggOpusStream(s.serial), encoder, packets, failed: (): Error | null => failure };
    });
    // RFC 3533 grouping: every stream's BOS page first, then their other headers.
    for (const s of streams) await writePage(s.ogg.headPage(2, sampleRate));
    for (const s of streams) await writePage(s.ogg.tagsPage('Tandem (prism-media, opusscript)', [`TITLE=${s.title}`]));
    const frameBytes = WAV_CHANNELS * 2;
    const blockFrames = sampleRate; // one second
    const block = Buffer.alloc(blockFrames * frameBytes);
    let at = WAV_HEADER_BYTES;
    let totalFrames = 0;
    const flush = async (): Promise<void> => {
      await yieldToLoop();
      for (const s of streams) {
        const err = s.failed();
        if (err !== null) throw err;
        for (const packet of s.packets.splice(0)) {
          const page = s.ogg.add(packet);
          if (page !== null) await writePage(page);
        }
      }
    };
    for (;;) {
      const { bytesRead } = await input.read(block, 0, block.length, at);
      const frames = Math.floor(bytesRead / frameBytes);
      if (frames === 0) break;
      at += frames * frameBytes;
      totalFrames += frames;
      // Whole 20 ms frames only: the tail is padded with silence to the next one.
      const padded = Math.ceil(frames / frameSamples) * frameSamples;
      for (const s of streams) {
        const pcm = Buffer.alloc(padded * 4);
        for (let i = 0; i < frames; i++) {
          pcm.writeInt16LE(block.readInt16LE(i * frameBytes + s.left * 2), i * 4);
          pcm.writeInt16LE(block.readInt16LE(i * frameBytes + s.right * 2), i * 4 + 2);
        }
        s.encoder.write(pcm);
      }
      await flush();
      if (bytesRead < block.length) break;
    }
    for (const s of streams) s.encoder.end();
    await flush();
    for (const s of streams) await writePage(s.ogg.end());
    return { path: oggPath, bytes: (await stat(oggPath)).size, durationMs: Math.round((totalFrames / sampleRate) * 1000) };
  } finally {
    await input.close();
    await output.close();
  }
}

/**
 * Transcodes in one thread of its own (a piscina pool of one, started on first use), so encoding an hour
 * of audio never holds up the engine's event loop or a worker's ticks; recordings queue for it one at a time.
 */
export class OpusTranscoder {
  #pool: Piscina | null = null;

  transcode(wavPath: string, oggPath: string): Promise<OpusTranscodeResult> {
    if (this.#pool === null) {
      const fromSource = import.meta.url.endsWith('.ts');
      this.#pool = new Piscina({
        filename: new URL(`./opus-transcode-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href,
        execArgv: fromSource ? ['--import', 'tsx'] : [],
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: 10_000,
      });
    }
    return this.#pool.run({ wavPath, oggPath }) as Promise<OpusTranscodeResult>;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    await pool?.destroy();
  }
}
