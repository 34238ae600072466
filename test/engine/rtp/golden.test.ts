import { describe, expect, it } from 'vitest';
import { RtpPacketView, RtpParseError, isRtcp, isRtp, rtpByteLength, seqDiff, serializeRtpInto, tsDiff } from '../../../engine/src/rtp/index.js';
import { flowNamed, hex, loadCapture, loadSlin16Payloads, type GoldenCapture } from './support/fixtures.js';

const captures: GoldenCapture[] = [loadCapture('s1_pair_caller_hangup'), loadCapture('s5_slin16')];
const s1 = captures[0]!;
const s5 = captures[1]!;

/** RTP clock ticks per 20 ms packet, by payload type: µ-law 8 kHz, Asterisk's slin16 16 kHz. */
const SAMPLES_PER_PACKET: Record<number, number> = { 0: 160, 118: 320 };

describe('golden packets from real Asterisk 22.10.1', () => {
  it('decodes the first µ-law packet Asterisk sent to externalMedia A (result.json sockets.A.first3_hex[0])', () => {
    const bytes = hex(flowNamed(s1, '127.0.0.1:10756 -> 127.0.0.1:47010').first[0]!.hex);
    const view = RtpPacketView.parse(bytes);
    expect(view).toMatchObject({
      version: 2,
      padding: false,
      extension: false,
      csrcCount: 0,
      marker: false, // docs/asterisk-facts.md: Asterisk sends marker 0 on the first packet
      payloadType: 0,
      sequenceNumber: 0x9235,
      timestamp: 0x3c0,
      ssrc: 0x2f4475a4,
      headerLength: 12,
      payloadOffset: 12,
      payloadLength: 160,
      paddingLength: 0,
    });
    expect(view.buffer).toBe(bytes);
    expect(view.csrcs).toEqual([]);
    expect(view.headerExtension).toBeNull();
    expect(Buffer.from(view.payload).equals(bytes.subarray(12))).toBe(true);
  });

  it('decodes the first injected packet (marker set, own SSRC 0x0a0a0a0a; result.json sockets.A.tx_first3_hex[0])', () => {
    const view = RtpPacketView.parse(hex(flowNamed(s1, '127.0.0.1:47010 -> 127.0.0.1:10756').first[0]!.hex));
    expect(view).toMatchObject({ marker: true, payloadType: 0, sequenceNumber: 0x23a0, timestamp: 0x17da4f66, ssrc: 0x0a0a0a0a, payloadLength: 160 });
  });

  it('decodes slin16 (PT 118, 640-byte payload) and extracts exactly the payload bytes the recorder received', () => {
    const flow = flowNamed(s5, '127.0.0.1:10954 -> 127.0.0.1:47010');
    const first = RtpPacketView.parse(hex(flow.first[0]!.hex));
    expect(first).toMatchObject({ marker: false, payloadType: 118, sequenceNumber: 0xf377, timestamp: 0x70, ssrc: 0x2d1f8153, payloadLength: 640 });
    const recorded = loadSlin16Payloads();
    expect(recorded.length).toBe(10);
    recorded.forEach((payload, i) => {
      const view = RtpPacketView.parse(hex(flow.first[i]!.hex));
      expect(Buffer.from(view.payload).equals(payload)).toBe(true);
    });
  });

  for (const capture of captures) {
    for (const flow of capture.flows) {
      describe(`flow ${flow.flow}`, () => {
        const datagrams = [...flow.first, flow.last].map((d) => ({ frame: d.frame, bytes: hex(d.hex) }));

        it('every packet matches the recorder’s independent analysis and round-trips byte for byte', () => {
          const view = new RtpPacketView();
          const out = new Uint8Array(1500);
          for (const { frame, bytes } of datagrams) {
            expect(isRtp(bytes), `frame ${frame}`).toBe(true);
            expect(isRtcp(bytes), `frame ${frame}`).toBe(false);
            expect(view.tryParse(bytes), `frame ${frame}`).toBeNull();
            expect(view.version).toBe(2);
            expect(view.payloadType).toBe(flow.expected.payloadType);
            expect(view.ssrc).toBe(flow.expected.ssrc);
            expect(view.payloadLength).toBe(flow.expected.payloadLength);
            expect(view.headerLength + view.payloadLength + view.paddingLength).toBe(bytes.length);

            const fields = view.headerFields();
            const written = serializeRtpInto(fields, view.payload, out, 0);
            expect(written).toBe(bytes.length);
            expect(rtpByteLength(fields, view.payloadLength)).toBe(written);
            expect(Buffer.from(out.subarray(0, written)).equals(bytes), `frame ${frame}`).toBe(true);
          }
        });

        it('sequence +1 and timestamp +20 ms per packet, marker only possibly on the first, no gaps to the last packet', () => {
          const views = datagrams.map(({ bytes }) => RtpPacketView.parse(bytes));
          const head = views.slice(0, -1);
          const samples = SAMPLES_PER_PACKET[flow.expected.payloadType];
          expect(samples).toBeDefined();
          for (let i = 1; i < head.length; i++) {
            expect(seqDiff(head[i - 1]!.sequenceNumber, head[i]!.sequenceNumber)).toBe(1);
            expect(tsDiff(head[i - 1]!.timestamp, head[i]!.timestamp)).toBe(samples);
            expect(head[i]!.marker).toBe(false);
          }
          const last = views[views.length - 1]!;
          expect(seqDiff(views[0]!.sequenceNumber, last.sequenceNumber)).toBe(flow.expected.packets - 1);
        });
      });
    }
  }

  describe('real RTCP on a media port (RFC 5761 demux)', () => {
    const rtcp = captures.flatMap((c) => c.rtcp);

    it('the captures hold RTCP from Asterisk (s1: two SR compounds, s5: one RR compound)', () => {
      expect(rtcp.map((d) => hex(d.hex)[1])).toEqual([200, 200, 201]);
    });

    for (const datagram of rtcp) {
      it(`rejects ${datagram.flow} frame ${datagram.frame} with code RTCP, and each packet of the compound classifies as RTCP`, () => {
        const bytes = hex(datagram.hex);
        expect(isRtcp(bytes)).toBe(true);
        expect(isRtp(bytes)).toBe(false);
        const view = new RtpPacketView();
        expect(view.tryParse(bytes)).toBe('RTCP');
        expect(view.buffer.length).toBe(0); // a failed parse drops the buffer reference
        let thrown: unknown;
        try {
          view.parse(bytes);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(RtpParseError);
        expect((thrown as RtpParseError).code).toBe('RTCP');

        const types: number[] = [];
        for (let at = 0; at < bytes.length; at += 4 * (bytes.readUInt16BE(at + 2) + 1)) {
          const sub = bytes.subarray(at);
          expect(isRtcp(sub)).toBe(true);
          types.push(sub[1]!);
        }
        expect(types).toContain(202); // every compound carries SDES (RFC 3550 §6.1)
      });
    }
  });
});
