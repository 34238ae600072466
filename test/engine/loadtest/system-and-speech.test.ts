import { describe, expect, it } from 'vitest';
import { parseUdpCounters, readUdpCounters, machineInfo } from '../../../tools/media-load/system-counters.js';
import { loadSpeechAudio, toneSweep } from '../../../tools/media-load/speech.js';

const SNMP = [
  'Ip: Forwarding DefaultTTL InReceives',
  'Ip: 1 64 12345',
  'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
  'Udp: 1000 3 17 990 12 5 0 0 0',
  'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
  'UdpLite: 0 0 0 0 0 0 0 0 0',
].join('\n');

describe('system counters', () => {
  it('reads the Udp lines of /proc/net/snmp by name', () => {
    expect(parseUdpCounters(SNMP)).toEqual({ inDatagrams: 1000, inErrors: 17, rcvbufErrors: 12, sndbufErrors: 5 });
    expect(parseUdpCounters('Ip: a b\nIp: 1 2\n')).toBeNull();
  });

  it('reads the live counters on Linux and describes the machine', () => {
    const live = readUdpCounters();
    if (process.platform === 'linux') expect(live?.rcvbufErrors).toBeGreaterThanOrEqual(0);
    const m = machineInfo();
    expect(m.cores).toBeGreaterThan(0);
    expect(m.node).toBe(process.version);
  });
});

describe('speech audio', () => {
  it('a tone sweep is whole 20 ms frames of non-silent µ-law', () => {
    const sweep = toneSweep(2);
    expect(sweep.length).toBe(16000);
    expect(new Set(sweep).size).toBeGreaterThan(20);
  });

  it('falls back to the sweep on request, and otherwise gives whole frames of audio', async () => {
    const tone = await loadSpeechAudio({ preferTone: true });
    expect(tone.source).toBe('tone-sweep');
    const audio = await loadSpeechAudio();
    expect(audio.ulaw.length % 160).toBe(0);
    expect(audio.seconds).toBeCloseTo(audio.ulaw.length / 8000, 9);
    // espeak-ng speech of the built-in text is several seconds; the sweep is 4 s.
    expect(audio.seconds).toBeGreaterThan(1);
    expect(new Set(audio.ulaw).size).toBeGreaterThan(20);
  }, 30_000);
});
