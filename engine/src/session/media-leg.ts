import type { Codec } from '../codec/index.js';
import type { JitterBuffer } from '../jitter/index.js';
import type { LegName, LegStats, MediaTransport } from '../worker/protocol.js';

/**
 * What a pair's directions need from a leg, whatever carries its media to
 * Asterisk: frames it received wait in `jitter` (one 20 ms frame per entry,
 * in sequence), and `sendPcm` hands Asterisk one paced frame per tick. RtpLeg
 * (UDP, UnicastRTP) and WebSocketLeg (chan_websocket) implement it; the jitter
 * buffer, pacing, mirror and translation above it are the same for both.
 */
export interface MediaLeg {
  readonly transport: MediaTransport;
  readonly name: LegName;
  readonly ext: string;
  /** The format on the wire (its byte order included). */
  readonly codec: Codec;
  readonly jitter: JitterBuffer;
  readonly closed: boolean;
  /** performance.now() of the last frame accepted into the jitter buffer (NaN before any). */
  readonly lastArrivalMs: number;
  /** Called after each frame reaches the jitter buffer: the direction's early reader (JitterBuffer.readEarly). */
  onStored: (() => void) | null;
  /** Sends one 20 ms PCM frame, resampled to the leg's rate when `sampleRate` differs. */
  sendPcm(pcm: Int16Array, samples: number, sampleRate: number): void;
  /** A tick with nothing to send. */
  idleTick(): void;
  /** Open transports (sockets, connections) this leg holds right now: 0 or 1. */
  readonly openTransports: number;
  stats(): LegStats;
  /** Releases the transport. Idempotent. */
  close(): void;
}
