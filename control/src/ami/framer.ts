import { AmiParseError } from './errors.js';

export type AmiFrame = { kind: 'banner'; raw: string; version: string } | { kind: 'message'; raw: string };

export interface AmiFramerOptions {
  /** The peer starts with `Asterisk Call Manager/<version>\r\n` (client side). Default true. */
  expectBanner?: boolean;
  /** Largest message accepted before the stream is declared broken. Default 1 MiB. */
  maxFrameChars?: number;
}

const BANNER_PREFIX = 'Asterisk Call Manager/';
const TERMINATOR = '\r\n\r\n';

/**
 * Cuts a decoded AMI byte stream into the banner and whole messages. TCP reads
 * split messages anywhere (the recordings show a `Command` answer arriving in
 * two reads), so input is buffered until `\r\n\r\n`. A value ending in a bare
 * `\n` (`...found\n\r\n\r\n`) still ends at the first CRLFCRLF, which keeps the
 * `\n` inside the message. Each returned `raw` includes its terminator.
 */
export class AmiFramer {
  #buffer = '';
  #overflow: AmiParseError | null = null;
  #awaitingBanner: boolean;
  readonly #maxFrameChars: number;

  constructor(options: AmiFramerOptions = {}) {
    this.#awaitingBanner = options.expectBanner ?? true;
    this.#maxFrameChars = options.maxFrameChars ?? 1024 * 1024;
  }

  /**
   * Returns the complete frames in `chunk` (with what was buffered). When the
   * incomplete remainder exceeds the limit, the complete frames are still
   * returned and `overflow` is set; the stream is unusable afterwards.
   *
   * @throws AmiParseError `AMI_BAD_BANNER`, or `AMI_FRAME_TOO_LARGE` on a push after an overflow
   */
  push(chunk: string): AmiFrame[] {
    if (this.#overflow) throw this.#overflow;
    this.#buffer += chunk;
    const frames: AmiFrame[] = [];
    if (this.#awaitingBanner) {
      const probe = this.#buffer.slice(0, BANNER_PREFIX.length);
      if (!BANNER_PREFIX.startsWith(probe)) {
        throw new AmiParseError('AMI_BAD_BANNER', `not an AMI banner: ${JSON.stringify(this.#buffer.slice(0, 40))}`);
      }
      const end = this.#buffer.indexOf('\r\n');
      if (end < 0) {
        this.#checkSize();
        return frames;
      }
      const raw = this.#buffer.slice(0, end + 2);
      this.#buffer = this.#buffer.slice(end + 2);
      this.#awaitingBanner = false;
      frames.push({ kind: 'banner', raw, version: raw.slice(BANNER_PREFIX.length, -2) });
    }
    let start = 0;
    for (;;) {
      const end = this.#buffer.indexOf(TERMINATOR, start);
      if (end < 0) break;
      const raw = this.#buffer.slice(start, end + TERMINATOR.length);
      start = end + TERMINATOR.length;
      // A stray blank line between messages (some clients send one) is not a message.
      if (raw !== TERMINATOR && raw.replace(/^(\r\n)+/, '').length > 0) {
        frames.push({ kind: 'message', raw: raw.replace(/^(\r\n)+/, '') });
      }
    }
    if (start > 0) this.#buffer = this.#buffer.slice(start);
    this.#checkSize();
    return frames;
  }

  /** Set once a message outgrew `maxFrameChars`; the peer must be disconnected. */
  get overflow(): AmiParseError | null {
    return this.#overflow;
  }

  /** Characters held while waiting for the rest of a message. */
  get pending(): number {
    return this.#buffer.length;
  }

  #checkSize(): void {
    if (this.#buffer.length > this.#maxFrameChars) {
      const size = this.#buffer.length;
      this.#buffer = '';
      this.#overflow = new AmiParseError('AMI_FRAME_TOO_LARGE', `AMI message exceeds ${this.#maxFrameChars} characters (${size} buffered)`);
    }
  }
}
