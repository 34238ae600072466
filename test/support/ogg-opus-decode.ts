import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

interface Prism {
  opus: {
    OggDemuxer: new () => NodeJS.ReadWriteStream;
    Decoder: new (options: { rate: number; channels: number; frameSize: number }) => NodeJS.ReadWriteStream;
  };
}

/** Splits an Ogg file into its logical streams' pages (by serial), in file order. */
export function oggStreams(file: Buffer): Map<number, Buffer[]> {
  const streams = new Map<number, Buffer[]>();
  let at = 0;
  while (at < file.length) {
    if (file.toString('latin1', at, at + 4) !== 'OggS') throw new Error(`no Ogg page at ${at}`);
    const segments = file[at + 26]!;
    let body = 0;
    for (let i = 0; i < segments; i++) body += file[at + 27 + i]!;
    const length = 27 + segments + body;
    const serial = file.readUInt32LE(at + 14);
    const pages = streams.get(serial) ?? [];
    pages.push(file.subarray(at, at + length));
    streams.set(serial, pages);
    at += length;
  }
  return streams;
}

/** Decodes one logical Ogg/Opus stream with prism-media (OggDemuxer, then its Opus decoder) to interleaved stereo at `rate`. */
export async function decodeOggOpusStream(pages: Buffer[], rate: number): Promise<Int16Array> {
  const prism = require('prism-media') as Prism;
  const pcm: Buffer[] = [];
  const decoded = Readable.from([Buffer.concat(pages)]).pipe(new prism.opus.OggDemuxer()).pipe(new prism.opus.Decoder({ rate, channels: 2, frameSize: rate / 50 }));
  for await (const chunk of decoded) pcm.push(chunk as Buffer);
  const all = Buffer.concat(pcm);
  return new Int16Array(all.buffer, all.byteOffset, all.length / 2);
}

/** RMS in dBFS of one channel of interleaved stereo, over [from, to) frames. */
export function channelDbfs(stereo: Int16Array, channel: 0 | 1, from = 0, to = stereo.length / 2): number {
  let sum = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const s = stereo[i * 2 + channel]!;
    sum += s * s;
    n++;
  }
  return n > 0 && sum > 0 ? 10 * Math.log10(sum / n / 32768 ** 2) : -Infinity;
}
