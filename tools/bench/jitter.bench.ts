import type { Bench } from 'tinybench';
import { decodeUlaw } from '../../engine/src/codec/index.js';
import { JitterBuffer, type JitterPacket } from '../../engine/src/jitter/index.js';
import { seqAdd, tsAdd } from '../../engine/src/rtp/wrap.js';

/** A mutable stand-in for the worker's reused RtpPacketView: one object, one payload buffer, for the whole run. */
interface BenchPacket extends JitterPacket {
  sequenceNumber: number;
  timestamp: number;
}

/**
 * Jitter buffer steady state: per iteration one 160-byte µ-law frame is pushed
 * and one frame popped (decoded through the real µ-law decoder), with a
 * simulated 20 ms clock. Packet, payload and PCM buffers are allocated once, so
 * the task measures the buffer's own per-frame cost and shows any allocation.
 */
export function addJitterBenches(bench: Bench): void {
  const jb = new JitterBuffer(decodeUlaw, { clockRate: 8000, frameSamples: 160 });
  const datagram = new Uint8Array(172);
  for (let i = 12; i < datagram.length; i++) datagram[i] = (i * 37) & 0xff;
  const packet: BenchPacket = {
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0x2f4475a4,
    marker: false,
    buffer: datagram,
    payloadOffset: 12,
    payloadLength: 160,
  };
  const pcm = new Int16Array(160);
  let nowMs = 0;

  bench.add('jitter push+pop', () => {
    packet.sequenceNumber = seqAdd(packet.sequenceNumber, 1);
    packet.timestamp = tsAdd(packet.timestamp, 160);
    nowMs += 20;
    jb.push(packet, nowMs);
    if (jb.pop(nowMs + 5, pcm) !== 'audio') throw new Error('jitter bench: steady state lost');
  });
}
