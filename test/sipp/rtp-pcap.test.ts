import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRtpPcap } from '../../asterisk/sipp/make-rtp-pcap.js';
import {
  lastStatRow,
  percentiles,
  rttPercentiles,
  sippDurationMs,
  StatsParseError,
  summarizeSippStats,
  tandemSamples,
} from '../../asterisk/sipp/load-summary.js';
import { g711Wav, parseRtp, PcapParseError, readPcap, rtpFlows, udpDatagrams } from '../../asterisk/sipp/rtp-pcap.js';
import { SIPP_DIR } from './sipp-harness.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PcapParseError || err instanceof StatsParseError ? err.code : `other: ${String(err)}`;
  }
  return undefined;
}

describe('readPcap / rtpFlows', () => {
  it('rejects what is not a libpcap file with a coded error', () => {
    expect(codeOf(() => readPcap(Buffer.alloc(10)))).toBe('PCAP_TRUNCATED');
    expect(codeOf(() => readPcap(Buffer.alloc(24, 0x0a)))).toBe('PCAP_BAD_MAGIC');
    const { pcap } = buildRtpPcap(Buffer.alloc(160));
    const sll2 = Buffer.from(pcap);
    sll2.writeUInt32LE(147, 20); // a link type this reader does not know
    expect(codeOf(() => udpDatagrams(readPcap(sll2)))).toBe('PCAP_UNSUPPORTED_LINKTYPE');
  });

  it('reads big-endian captures and keeps the whole records of a capture cut mid-record', () => {
    const { pcap } = buildRtpPcap(Buffer.alloc(160 * 3, 0x11));
    const cut = pcap.subarray(0, pcap.length - 50);
    expect(readPcap(cut).records).toHaveLength(2);
    // Same file with a big-endian global and record headers.
    const be = Buffer.from(pcap);
    be.writeUInt32BE(0xa1b2c3d4, 0);
    be.writeUInt16BE(2, 4);
    be.writeUInt16BE(4, 6);
    be.writeUInt32BE(65535, 16);
    be.writeUInt32BE(1, 20);
    let off = 24;
    while (off < be.length) {
      const incl = pcap.readUInt32LE(off + 8);
      for (const f of [0, 4, 8, 12]) be.writeUInt32BE(pcap.readUInt32LE(off + f), off + f);
      off += 16 + incl;
    }
    expect(rtpFlows(udpDatagrams(readPcap(be))).flows[0]).toMatchObject({ packets: 3, lost: 0 });
  });

  it('counts loss, duplicates and sequence wrap per flow', () => {
    const { pcap } = buildRtpPcap(Buffer.alloc(160 * 10, 0x22), { firstSequenceNumber: 65530 });
    const parsed = readPcap(pcap);
    // Drop packets 3 and 7, duplicate packet 5.
    const records = parsed.records.filter((_, i) => i !== 3 && i !== 7);
    const dup = parsed.records[5];
    if (dup !== undefined) records.push(dup);
    const { flows } = rtpFlows(udpDatagrams({ linkType: parsed.linkType, records }));
    expect(flows[0]).toMatchObject({ expected: 10, packets: 8, lost: 2, duplicates: 1 });
  });

  it('never throws on random UDP payloads, and ignores RTCP', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = parseRtp(Buffer.from(bytes));
        expect(r === null || r.payload.length <= bytes.length).toBe(true);
      }),
    );
    const rtcpReceiverReport = Buffer.from([0x81, 201, 0, 7, 0, 0, 0, 1, ...new Array<number>(24).fill(0)]);
    expect(parseRtp(rtcpReceiverReport)).toBeNull();
  });

  it('filters flows by destination port range', () => {
    const a = readPcap(buildRtpPcap(Buffer.alloc(320), { destination: { address: '127.0.0.1', port: 20000 } }).pcap);
    const b = readPcap(buildRtpPcap(Buffer.alloc(320), { destination: { address: '127.0.0.1', port: 30000 }, ssrc: 7 }).pcap);
    const both = [...udpDatagrams(a), ...udpDatagrams(b)];
    expect(rtpFlows(both).flows).toHaveLength(2);
    expect(rtpFlows(both, { dstPortMin: 20000, dstPortMax: 20003 }).flows.map((f) => f.dst)).toEqual(['127.0.0.1:20000']);
  });

  it('writes a µ-law WAV header (format 7, 8 kHz, 8 bit) in front of the samples', () => {
    const wav = g711Wav(Buffer.alloc(800, 0x7f), 0);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.readUInt16LE(20)).toBe(7);
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect(wav.readUInt16LE(34)).toBe(8);
    expect(wav.readUInt32LE(40)).toBe(800);
    expect(g711Wav(Buffer.alloc(1), 8).readUInt16LE(20)).toBe(6);
  });

  it('reads the committed speech pcap as one PCMU flow of 20 ms packets', () => {
    const { flows } = rtpFlows(udpDatagrams(readPcap(readFileSync(join(SIPP_DIR, 'speech-ulaw.pcap')))));
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect(f?.payloadBytes).toBe((f?.packets ?? 0) * 160);
    expect(Math.round(f?.spanMs ?? 0)).toBe(((f?.packets ?? 0) - 1) * 20);
  });
});

describe('load-summary', () => {
  const header = 'StartTime;TotalCallCreated;SuccessfulCall(C);FailedCall(C);FailedUnexpectedMessage(C);FailedMaxUDPRetrans(C);Retransmissions(C);DeadCallMsgs(C);ResponseTimesetup(C);ResponseTimesetupStDev(C);CallLength(C);';
  const csv = [header, '2026-11-23 02:00:00;0;0;0;0;0;0;0;00:00:00:000000;00:00:00:000000;00:00:00:000000;', '2026-11-23 02:00:09;10;8;2;2;0;3;1;00:00:00:208500;00:00:00:001000;00:00:03:214000;', ''].join('\n');

  it('summarizes the last row of a -trace_stat CSV', () => {
    expect(summarizeSippStats(csv)).toEqual({
      created: 10,
      successful: 8,
      failed: 2,
      failures: { UnexpectedMessage: 2 },
      retransmissions: 3,
      deadCallMessages: 1,
      meanCallLengthMs: 3214,
      meanResponseTimeMs: { setup: 208.5 },
    });
    expect(lastStatRow(csv).get('SuccessfulCall(C)')).toBe('8');
  });

  it('rejects empty or foreign statistics with coded errors', () => {
    expect(codeOf(() => summarizeSippStats(header))).toBe('STATS_EMPTY');
    expect(codeOf(() => summarizeSippStats('a;b\n1;2\n'))).toBe('STATS_MISSING_COLUMN');
    expect(codeOf(() => sippDurationMs('soon'))).toBe('STATS_BAD_ROW');
    expect(sippDurationMs('01:02:03')).toBe(3_723_000);
  });

  it('computes nearest-rank percentiles of call setup per RTD', () => {
    const lines = ['Date_ms;response_time_ms;rtd_no', ...Array.from({ length: 100 }, (_, i) => `${i};${i + 1};setup`), 'garbage', ''];
    expect(rttPercentiles(lines.join('\n'))).toEqual({ setup: { count: 100, p50: 50, p90: 90, p99: 99, max: 100 } });
    expect(percentiles([])).toBeNull();
    expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
  });

  it('keeps only well-formed Tandem samples', () => {
    expect(tandemSamples('{"t":1,"pairs":3}\n{"t":2,"pairs"\nnot json\n{"t":3,"pairs":"x"}\n{"t":4,"pairs":5}\n')).toEqual([
      { t: 1, pairs: 3 },
      { t: 4, pairs: 5 },
    ]);
  });
});
