import type { JitterPacket } from '../jitter/index.js';

/** A pause this long between frames starts a new talkspurt (marker), as a silent RTP sender's next packet would. */
const TALKSPURT_GAP_MS = 200;

/**
 * Cuts chan_websocket's binary messages into whole frames. Asterisk usually sends one frame per message, but a
 * message need not be a whole frame: the frame a message boundary cuts in two is completed from the next message.
 */
export class WebSocketFrameCutter {
  readonly #frameBytes: number;
  /** The frame a message boundary cut in two, until the next message completes it. */
  readonly #partial: Buffer;
  #partialLength = 0;

  constructor(frameBytes: number) {
    this.#frameBytes = frameBytes;
    this.#partial = Buffer.alloc(frameBytes);
  }

  /**
   * Hands each whole frame in `message` to `onFrame` (with the bytes a previous message left first); returns how many
   * bytes at the end of the message wait for the next one (0 when the message only extended a frame still incomplete).
   */
  cut(message: Buffer, onFrame: (buffer: Uint8Array, offset: number) => void): number {
    const frameBytes = this.#frameBytes;
    let offset = 0;
    if (this.#partialLength > 0) {
      const take = Math.min(frameBytes - this.#partialLength, message.length);
      message.copy(this.#partial, this.#partialLength, 0, take);
      this.#partialLength += take;
      offset = take;
      if (this.#partialLength < frameBytes) return 0;
      // The jitter buffer keeps what it is given until played: the completed frame gets its own memory.
      onFrame(Buffer.from(this.#partial), 0);
      this.#partialLength = 0;
    }
    // Whole frames are views of the message (ws hands out a fresh buffer per message): no copy.
    while (message.length - offset >= frameBytes) {
      onFrame(message, offset);
      offset += frameBytes;
    }
    const rest = message.length - offset;
    if (rest > 0) {
      message.copy(this.#partial, 0, offset);
      this.#partialLength = rest;
    }
    return rest;
  }
}

/**
 * Gives each frame off a WebSocket the RTP header it would have had: TCP loses and reorders nothing, so each frame
 * gets the next sequence number and a timestamp one frame on, and the jitter buffer sees an RTP-like stream. One
 * packet object is reused (the jitter buffer keeps the payload's buffer, never the packet).
 */
export class FramePacketizer {
  readonly #frameSamples: number;
  readonly #frameBytes: number;
  readonly #packet: { sequenceNumber: number; timestamp: number; ssrc: number; marker: boolean; buffer: Uint8Array; payloadOffset: number; payloadLength: number };

  constructor(frameSamples: number, frameBytes: number, initialBuffer: Uint8Array) {
    this.#frameSamples = frameSamples;
    this.#frameBytes = frameBytes;
    this.#packet = {
      sequenceNumber: Math.floor(Math.random() * 0x10000),
      timestamp: Math.floor(Math.random() * 0x1_0000_0000),
      ssrc: Math.floor(Math.random() * 0x1_0000_0000) >>> 0,
      marker: true,
      buffer: initialBuffer,
      payloadOffset: 0,
      payloadLength: 0,
    };
  }

  /** The packet for the frame at `buffer[offset]`, arrived at `now`; `previousArrivalMs` (NaN for none) decides the marker. */
  packetFor(buffer: Uint8Array, offset: number, now: number, previousArrivalMs: number): JitterPacket {
    const packet = this.#packet;
    packet.marker = Number.isNaN(previousArrivalMs) || now - previousArrivalMs >= TALKSPURT_GAP_MS;
    packet.sequenceNumber = (packet.sequenceNumber + 1) & 0xffff;
    packet.timestamp = (packet.timestamp + this.#frameSamples) >>> 0;
    packet.buffer = buffer;
    packet.payloadOffset = offset;
    packet.payloadLength = this.#frameBytes;
    return packet;
  }
}
