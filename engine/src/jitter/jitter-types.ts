/**
 * What push() needs from a packet. An RtpPacketView satisfies it. The buffer keeps a reference to `buffer` (no copy):
 * the caller must not reuse that memory until the frame has been popped or dropped (dgram hands out a fresh Buffer per
 * datagram). The packet object itself is not kept, so a reused view object is fine.
 */
export interface JitterPacket {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
  readonly buffer: Uint8Array;
  readonly payloadOffset: number;
  readonly payloadLength: number;
}

/** Decodes one encoded payload into PCM; returns the number of samples written (a codec's decode function fits). */
export type FrameDecoder = (src: Uint8Array, srcOffset: number, length: number, dst: Int16Array) => number;

/**
 * 'accepted': stored for playout. 'duplicate': that sequence is already stored. 'late': at/behind the play head (or a
 * straggler of the stream a resync just replaced). 'resync': a new stream began with this packet (SSRC change or a jump
 * beyond resyncJumpMs); the old one was flushed. 'overflow': stored, but older frames were dropped to stay within
 * maxDepthMs.
 */
export type PushOutcome = 'accepted' | 'duplicate' | 'late' | 'resync' | 'overflow';

/**
 * 'audio' = a real frame decoded into out; 'concealed' = the last frame repeated with fading gain; 'silence' = zeros
 * after concealment; 'waiting' = not started / prefilling / idle: nothing written, the sender should send nothing this tick.
 */
export type PopResult = 'audio' | 'concealed' | 'silence' | 'waiting';
