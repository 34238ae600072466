import type { Bench } from 'tinybench';
import { getCodec } from '../../engine/src/codec/index.js';
import { RtpPacketView, RtpPacketizer, writeRtpHeader } from '../../engine/src/rtp/index.js';

/**
 * The whole per-packet computation a relayed packet costs, without sockets:
 * parse the received packet, decode µ-law to PCM, encode it again and write a
 * fresh header — the figure native-bench compares with C.
 */
export function addHotPathBenches(bench: Bench): void {
  const ulaw = getCodec('ulaw');
  const received = Buffer.alloc(172);
  writeRtpHeader(received, 0, false, 0, 1234, 160000, 0x11223344);
  for (let i = 12; i < 172; i++) received[i] = (i * 37) & 0xff;
  const view = new RtpPacketView();
  const pcm = new Int16Array(160);
  const out = Buffer.alloc(172);
  const packetizer = new RtpPacketizer({ payloadType: 0, ssrc: 0x55667788 });
  bench.add('hot path: parse+decode+encode+packetize (ulaw 20ms)', () => {
    if (view.tryParse(received) !== null) throw new Error('parse failed');
    ulaw.decode(received, view.payloadOffset, view.payloadLength, pcm);
    ulaw.encode(pcm, 160, out, 12);
    packetizer.writeHeader(out, 160);
  });
}
