import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildRtpPcap,
  LINKTYPE_ETHERNET,
  parseCliArgs,
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_MAGIC,
  PCAP_RECORD_HEADER_BYTES,
  RTP_OFFSET_IN_FRAME,
} from '../../asterisk/sipp/make-rtp-pcap.js';
import { readPcap, rtpFlows, udpDatagrams } from '../../asterisk/sipp/rtp-pcap.js';
import { REPO, SIPP_DIR, requireTool } from './sipp-harness.js';

/** µ-law → linear, for checking that the generated audio is speech, not silence. */
function ulawToLinear(u: number): number {
  const x = ~u & 0xff;
  const t = (((x & 0x0f) << 3) + 0x84) << ((x & 0x70) >> 4);
  return x & 0x80 ? 0x84 - t : t - 0x84;
}

describe('buildRtpPcap', () => {
  it('writes a libpcap header, one Ethernet/IPv4/UDP/RTP record per 20 ms, and the exact audio', () => {
    const audio = Buffer.alloc(160 * 3 + 40);
    for (let i = 0; i < audio.length; i++) audio[i] = i & 0xff;
    const { pcap, packetCount, durationMs } = buildRtpPcap(audio, {
      ssrc: 0x01020304,
      firstSequenceNumber: 65534,
      firstTimestamp: 0xffffff00,
      source: { address: '127.0.0.1', port: 16000 },
      destination: { address: '127.0.0.2', port: 16100 },
    });
    expect(packetCount).toBe(4);
    expect(durationMs).toBe(80);
    expect(pcap.readUInt32LE(0)).toBe(PCAP_MAGIC);
    expect(pcap.readUInt16LE(4)).toBe(2);
    expect(pcap.readUInt16LE(6)).toBe(4);
    expect(pcap.readUInt32LE(20)).toBe(LINKTYPE_ETHERNET);
    const frame = 14 + 20 + 8 + 12 + 160;
    expect(pcap.length).toBe(PCAP_GLOBAL_HEADER_BYTES + 4 * (PCAP_RECORD_HEADER_BYTES + frame));

    const parsed = readPcap(pcap);
    expect(parsed.records).toHaveLength(4);
    const times = parsed.records.map((r) => r.timeMicros);
    expect(times.slice(1).map((t, i) => t - (times[i] ?? 0))).toEqual([20_000, 20_000, 20_000]);

    const seqs: number[] = [];
    parsed.records.forEach((rec, i) => {
      const rtp = rec.data.subarray(RTP_OFFSET_IN_FRAME);
      expect(rtp[0]).toBe(0x80); // V=2, no padding, no extension, no CSRC
      expect(rtp[1]).toBe(i === 0 ? 0x80 : 0x00); // marker on the first packet, PT 0
      seqs.push(rtp.readUInt16BE(2));
      expect(rtp.readUInt32BE(4)).toBe((0xffffff00 + i * 160) >>> 0);
      expect(rtp.readUInt32BE(8)).toBe(0x01020304);
      // UDP ports and IPv4 addresses as asked.
      expect(rec.data.readUInt16BE(14 + 20)).toBe(16000);
      expect(rec.data.readUInt16BE(14 + 20 + 2)).toBe(16100);
      expect([...rec.data.subarray(14 + 16, 14 + 20)]).toEqual([127, 0, 0, 2]);
    });
    expect(seqs).toEqual([65534, 65535, 0, 1]);

    const { flows, audio: heard } = rtpFlows(udpDatagrams(parsed));
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ src: '127.0.0.1:16000', dst: '127.0.0.2:16100', packets: 4, expected: 4, lost: 0, payloadTypes: [0] });
    // The last frame is padded with µ-law silence (0xff).
    expect(heard[0]).toEqual(Buffer.concat([audio, Buffer.alloc(120, 0xff)]));
  });

  it('writes IPv4 header and UDP checksums that verify', () => {
    const { pcap } = buildRtpPcap(Buffer.alloc(320, 0x55));
    const rec = readPcap(pcap).records[0];
    expect(rec).toBeDefined();
    const f = rec?.data ?? Buffer.alloc(0);
    const sum16 = (b: Buffer): number => {
      let s = 0;
      for (let i = 0; i < b.length; i += 2) s += (b[i] ?? 0) * 256 + (b[i + 1] ?? 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    expect(sum16(f.subarray(14, 34))).toBe(0xffff);
    const udp = f.subarray(34);
    const pseudo = Buffer.concat([f.subarray(26, 34), Buffer.from([0, 17]), udp.subarray(4, 6)]);
    expect(sum16(Buffer.concat([pseudo, udp]))).toBe(0xffff);
  });

  it('packetizes any audio length into ceil(n/160) packets and gives it back byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.constantFrom(10, 20, 30), (bytes, ptimeMs) => {
        const audio = Buffer.from(bytes);
        const per = 8 * ptimeMs;
        const { pcap, packetCount } = buildRtpPcap(audio, { ptimeMs });
        expect(packetCount).toBe(Math.ceil(audio.length / per));
        const { audio: heard } = rtpFlows(udpDatagrams(readPcap(pcap)));
        expect(heard[0]?.subarray(0, audio.length)).toEqual(audio);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects bad arguments with RangeError', () => {
    expect(() => buildRtpPcap(Buffer.alloc(0))).toThrow(RangeError);
    expect(() => buildRtpPcap(Buffer.alloc(160), { ptimeMs: 25 })).toThrow(RangeError);
    expect(() => buildRtpPcap(Buffer.alloc(160), { payloadType: 128 })).toThrow(RangeError);
    expect(() => buildRtpPcap(Buffer.alloc(160), { source: { address: '127.0.0.256', port: 1 } })).toThrow(RangeError);
    expect(() => buildRtpPcap(Buffer.alloc(160), { destination: { address: '127.0.0.1', port: 0 } })).toThrow(RangeError);
    expect(() => parseCliArgs(['--in', 'a'])).toThrow(RangeError);
    expect(() => parseCliArgs(['--in', 'a', '--out', 'b', '--src', 'host:1'])).toThrow(RangeError);
    expect(parseCliArgs(['--in', 'a', '--out', 'b', '--pt', '8', '--dst', '127.0.0.1:7000'])).toEqual({
      input: 'a',
      output: 'b',
      options: { payloadType: 8, destination: { address: '127.0.0.1', port: 7000 } },
    });
  });
});

describe('make-speech-pcap.sh', () => {
  it('makes a speech pcap whose duration matches the espeak-ng audio and that is not silence', () => {
    requireTool('espeak-ng', 'apt-get install espeak-ng');
    requireTool('sox', 'apt-get install sox');
    const dir = mkdtempSync(join(tmpdir(), 'tandem-speech-'));
    try {
      const out = join(dir, 's.pcap');
      const raw = join(dir, 's.ulaw');
      const r = spawnSync(join(SIPP_DIR, 'make-speech-pcap.sh'), ['-o', out, '-r', raw, '-t', 'Testing one two three, this is Tandem.'], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const samples = readFileSync(raw);
      const speechMs = (samples.length / 8000) * 1000;
      expect(speechMs).toBeGreaterThan(1000);
      const { flows, audio } = rtpFlows(udpDatagrams(readPcap(readFileSync(out))));
      expect(flows).toHaveLength(1);
      const flow = flows[0];
      expect(flow?.packets).toBe(Math.ceil(samples.length / 160));
      expect(flow?.lost).toBe(0);
      expect(Math.abs((flow?.audioMs ?? 0) - speechMs)).toBeLessThan(20);
      expect(audio[0]?.subarray(0, samples.length)).toEqual(samples);
      // Speech, not a constant: a clear RMS and many distinct sample values.
      const lin = [...samples].map(ulawToLinear);
      const rms = Math.sqrt(lin.reduce((s, v) => s + v * v, 0) / lin.length);
      expect(rms).toBeGreaterThan(300);
      expect(new Set(samples).size).toBeGreaterThan(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the committed speech pcap is small, valid and about 17 s of speech', () => {
    const file = join(SIPP_DIR, 'speech-ulaw.pcap');
    expect(statSync(file).size).toBeLessThan(300 * 1024);
    const { flows } = rtpFlows(udpDatagrams(readPcap(readFileSync(file))));
    expect(flows).toHaveLength(1);
    expect(flows[0]?.payloadTypes).toEqual([0]);
    expect(flows[0]?.lost).toBe(0);
    expect(flows[0]?.audioMs).toBeGreaterThan(10_000);
  });
});
