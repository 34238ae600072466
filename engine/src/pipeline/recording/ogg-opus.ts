/**
 * Ogg encapsulation of Opus (RFC 3533 pages, RFC 7845 headers), written by hand because prism-media
 * (which encodes the packets) demuxes Ogg but has no muxer. A file may hold several logical streams
 * (one serial each); every stream's first page (OpusHead, BOS) comes before any other page, as RFC 3533
 * grouping requires. Granule positions count 48 kHz samples, whatever the input rate.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial 0). */
export function oggCrc(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] ?? 0)) >>> 0;
  return crc >>> 0;
}

const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;

/** One Ogg page holding whole packets (none continued across pages). */
export function oggPage(serial: number, sequence: number, granule: bigint, packets: readonly Uint8Array[], flags: number): Buffer {
  const lacing: number[] = [];
  for (const p of packets) {
    let n = p.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
  }
  if (lacing.length > 255) throw new RangeError(`an Ogg page holds at most 255 segments, got ${lacing.length}`);
  const bodyBytes = packets.reduce((n, p) => n + p.length, 0);
  const page = Buffer.alloc(27 + lacing.length + bodyBytes);
  page.write('OggS', 0, 'latin1');
  page[4] = 0;
  page[5] = flags & (FLAG_CONTINUED | FLAG_BOS | FLAG_EOS);
  page.writeBigInt64LE(granule, 6);
  page.writeUInt32LE(serial >>> 0, 14);
  page.writeUInt32LE(sequence >>> 0, 18);
  page.writeUInt32LE(0, 22);
  page[26] = lacing.length;
  Buffer.from(lacing).copy(page, 27);
  let at = 27 + lacing.length;
  for (const p of packets) {
    page.set(p, at);
    at += p.length;
  }
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** RFC 7845 identification header, channel mapping family 0 (mono or stereo). */
export function opusHead(channels: 1 | 2, inputSampleRate: number, preSkip: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(inputSampleRate, 12);
  head.writeInt16LE(0, 16);
  head[18] = 0;
  return head;
}

/** RFC 7845 comment header: the vendor and the stream's title (what it holds). */
export function opusTags(vendor: string, comments: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from('OpusTags', 'latin1')];
  const len = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n, 0);
    return b;
  };
  const v = Buffer.from(vendor, 'utf8');
  parts.push(len(v.length), v, len(comments.length));
  for (const c of comments) {
    const b = Buffer.from(c, 'utf8');
    parts.push(len(b.length), b);
  }
  return Buffer.concat(parts);
}

/** Opus packets of 20 ms advance the granule by 960 (48 kHz samples). */
export const GRANULE_PER_20MS = 960n;
/** The encoder's lookahead at 48 kHz (libopus: 6.5 ms), which a decoder skips. */
export const OPUS_PRE_SKIP = 312;

/** One logical Opus stream being paged: collects packets and cuts a page every `packetsPerPage`. */
export class OggOpusStream {
  readonly serial: number;
  #sequence = 0;
  #granule = 0n;
  #pending: Uint8Array[] = [];
  readonly #packetsPerPage: number;

  constructor(serial: number, packetsPerPage = 50) {
    this.serial = serial;
    this.#packetsPerPage = packetsPerPage;
  }

  /** The two header pages: OpusHead (BOS) and OpusTags. The first must precede every other stream's data. */
  headPage(channels: 1 | 2, inputSampleRate: number): Buffer {
    return oggPage(this.serial, this.#sequence++, 0n, [opusHead(channels, inputSampleRate, OPUS_PRE_SKIP)], FLAG_BOS);
  }

  tagsPage(vendor: string, comments: readonly string[]): Buffer {
    return oggPage(this.serial, this.#sequence++, 0n, [opusTags(vendor, comments)], 0);
  }

  /** Adds a 20 ms packet; returns a page when one is full. */
  add(packet: Uint8Array): Buffer | null {
    this.#pending.push(packet);
    this.#granule += GRANULE_PER_20MS;
    if (this.#pending.length < this.#packetsPerPage) return null;
    return this.#cut(0);
  }

  /** The last page (EOS), holding whatever is pending. */
  end(): Buffer {
    return this.#cut(FLAG_EOS);
  }

  #cut(flags: number): Buffer {
    // The granule of a page is the end of its last complete packet, plus the pre-skip the decoder drops.
    const page = oggPage(this.serial, this.#sequence++, this.#granule + BigInt(OPUS_PRE_SKIP), this.#pending, flags);
    this.#pending = [];
    return page;
  }
}
