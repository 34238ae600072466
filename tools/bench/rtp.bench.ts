import type { Bench } from 'tinybench';
import { RtpPacketView, RtpPacketizer, serializeRtp, writeRtpHeader } from '../../engine/src/rtp/index.js';

/**
 * RTP hot-path benchmarks: one 172-byte µ-law packet (12-byte header + 160-byte
 * payload), the size Asterisk sends every 20 ms per leg. Buffers and the view
 * are created once, as in the worker's receive/send loops, so the tasks measure
 * steady state with no allocation per operation.
 */
/** Results feed this exported object so the JIT cannot drop the measured work as dead code. */
export const benchSink = { value: 0 };

export function addRtpBenches(bench: Bench): void {
  const payload = new Uint8Array(160).fill(0xd5);
  const packet = serializeRtp({ marker: false, payloadType: 0, sequenceNumber: 0x9235, timestamp: 0x3c0, ssrc: 0x2f4475a4 }, payload);
  const view = new RtpPacketView();
  const out = new Uint8Array(1500);
  const packetizer = new RtpPacketizer({ payloadType: 0, ssrc: 0x0a0a0a0a });

  bench.add('rtp parse', () => {
    if (view.tryParse(packet, 172) === null) benchSink.value ^= view.sequenceNumber;
  });

  let sequence = 0;
  let timestamp = 0;
  bench.add('rtp serialize', () => {
    sequence = (sequence + 1) & 0xffff;
    timestamp = (timestamp + 160) >>> 0;
    benchSink.value ^= writeRtpHeader(out, 0, false, 0, sequence, timestamp, 0x0a0a0a0a);
    out.set(payload, 12);
  });

  bench.add('rtp packetizer writeHeader', () => {
    benchSink.value ^= packetizer.writeHeader(out, 160);
    out.set(payload, 12);
  });
}
