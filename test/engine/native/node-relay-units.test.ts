import { describe, expect, it } from 'vitest';
import { parseRelayArgs, parseRelayCommand, readyLine, RelayUsageError, statsLine } from '../../../tools/bench/native/node-relay-cli.js';
import { emptyCounters, sumCounters } from '../../../tools/bench/native/node-relay-protocol.js';
import { RelayRewriter } from '../../../tools/bench/native/node-relay-rewrite.js';
import { linearToUlaw, ulawToLinear } from '../../../engine/src/codec/index.js';
import { RtpPacketView, RtpPacketizer, serializeRtp } from '../../../engine/src/rtp/index.js';

function packetizer(): RtpPacketizer {
  return new RtpPacketizer({ payloadType: 0, ssrc: 0x11223344, initialSequence: 0xfffe, initialTimestamp: 0xffff_ff60 });
}

describe('RelayRewriter', () => {
  it('rewrites a datagram in place: a fresh header from the packetizer, the payload decoded and encoded at offset 12', () => {
    const payload = Uint8Array.from({ length: 160 }, (_, i) => (i * 13) & 0xff);
    const datagram = Buffer.from(
      serializeRtp({ marker: false, payloadType: 0, sequenceNumber: 5, timestamp: 7, ssrc: 9, csrcs: [1, 2], paddingLength: 8 }, payload),
    );
    const p = packetizer();
    const length = new RelayRewriter().rewrite(datagram, p);
    expect(length).toBe(12 + 160);
    const v = RtpPacketView.parse(datagram, length as number);
    expect([v.marker, v.payloadType, v.sequenceNumber, v.timestamp, v.ssrc, v.csrcCount, v.paddingLength]).toEqual([true, 0, 0xfffe, 0xffff_ff60, 0x11223344, 0, 0]);
    expect([...v.payload]).toEqual([...payload].map((code) => linearToUlaw(ulawToLinear(code))));
    expect([p.nextSequence, p.nextTimestamp]).toEqual([0xffff, 0]);
  });

  it('numbers consecutive packets from the packetizer: sequence and timestamp wrap, the marker is set once', () => {
    const rewriter = new RelayRewriter();
    const p = packetizer();
    const out = [1, 2, 3].map((seq) => {
      const datagram = Buffer.from(serializeRtp({ marker: true, payloadType: 0, sequenceNumber: seq, timestamp: 0, ssrc: 1 }, new Uint8Array(160)));
      expect(rewriter.rewrite(datagram, p)).toBe(172);
      return RtpPacketView.parse(datagram);
    });
    expect(out.map((v) => [v.marker, v.sequenceNumber, v.timestamp])).toEqual([
      [true, 0xfffe, 0xffff_ff60],
      [false, 0xffff, 0],
      [false, 0, 160],
    ]);
  });

  it('names why a datagram is not relayed and leaves the packetizer alone', () => {
    const rewriter = new RelayRewriter();
    const p = packetizer();
    expect(rewriter.rewrite(Uint8Array.of(0x81, 0xc8, 0, 6, 0, 0, 0, 0), p)).toBe('RTCP');
    expect(rewriter.rewrite(Uint8Array.of(0x12, 0x34), p)).toBe('BAD_VERSION');
    expect(rewriter.rewrite(Uint8Array.of(0x80, 0, 0), p)).toBe('TOO_SHORT');
    expect(rewriter.rewrite(serializeRtp({ marker: false, payloadType: 8, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, new Uint8Array(160)), p)).toBe('PAYLOAD_TYPE');
    expect([p.nextSequence, p.packetsWritten]).toEqual([0xfffe, 0]);
  });
});

describe('Node relay command line', () => {
  it("takes relay.c's options and clamps threads to pairs", () => {
    expect(parseRelayArgs(['--mode', 'node', '--pairs', '3', '--threads', '8', '--base-port', '0', '--seconds', '5', '--bind', '127.0.0.2', '--socket-buffer', '8192', '--ignore-stdin'])).toEqual({
      pairs: 3,
      threads: 3,
      basePort: 0,
      seconds: 5,
      bindAddress: '127.0.0.2',
      socketBufferBytes: 8192,
      ignoreStdin: true,
    });
    expect(parseRelayArgs([])).toMatchObject({ pairs: 1, threads: 1, basePort: 20_000, seconds: 60, socketBufferBytes: 2 * 1024 * 1024, ignoreStdin: false });
  });

  it('refuses what relay.c refuses, with its messages', () => {
    const refused = (argv: string[]): string => {
      try {
        parseRelayArgs(argv);
      } catch (err) {
        expect(err).toBeInstanceOf(RelayUsageError);
        return (err as RelayUsageError).message;
      }
      throw new Error(`accepted ${argv.join(' ')}`);
    };
    expect(refused(['--pairs', '0'])).toBe("relay: --pairs must be an integer in 1..30000, got '0'");
    expect(refused(['--pairs', '2x'])).toBe("relay: --pairs must be an integer in 1..30000, got '2x'");
    expect(refused(['--base-port', '80'])).toBe('relay: --base-port must be 0 or at least 1024');
    expect(refused(['--base-port', '65000', '--pairs', '300'])).toBe('relay: 600 ports from 65000 run past 65535');
    expect(refused(['--bind', 'localhost'])).toBe('relay: --bind localhost is not an IPv4 address');
    expect(refused(['--mode', 'socket'])).toMatch(/^usage:/);
    expect(refused(['--batch', '64'])).toMatch(/^usage:/);
    expect(refused(['--pairs'])).toMatch(/^usage:/);
  });

  it('parses stdin commands: stats, remote, blank lines; anything else is a bad command', () => {
    expect(parseRelayCommand('stats', 2)).toEqual({ type: 'stats' });
    expect(parseRelayCommand('stats\r', 2)).toEqual({ type: 'stats' });
    expect(parseRelayCommand('', 2)).toEqual({ type: 'none' });
    expect(parseRelayCommand('remote 1 B 127.0.0.1 4000', 2)).toEqual({ type: 'remote', pair: 1, side: 'B', address: '127.0.0.1', port: 4000 });
    for (const bad of ['remote 2 A 127.0.0.1 4000', 'remote 0 C 127.0.0.1 4000', 'remote 0 A ::1 4000', 'remote 0 A 127.0.0.1 0', 'remote 0 A 127.0.0.1 70000', 'remote 0 A 127.0.0.1 4000 x', 'stat']) {
      expect(parseRelayCommand(bad, 2)).toEqual({ type: 'bad', line: bad });
    }
  });

  it("prints ready and stats lines with relay.c's fields in relay.c's order", () => {
    const args = parseRelayArgs(['--pairs', '2', '--threads', '2', '--base-port', '0']);
    expect(JSON.parse(readyLine(args, [[1000, 1001], [1002, 1003]]))).toEqual({ type: 'ready', mode: 'node', address: '127.0.0.1', pairs: 2, threads: 2, legs: [[1000, 1001], [1002, 1003]] });
    const one = emptyCounters();
    one.rx_packets = 5;
    one.tx_packets = 4;
    one.refused_peers = 1;
    one.dropped.RTCP = 2;
    const counters = sumCounters([one, one]);
    const line = JSON.parse(statsLine('final', 'time-limit', args, { wallS: 2.5, cpu: { user: 1_500_000, system: 250_000 }, counters, badCommands: 3 })) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual([
      'type', 'reason', 'mode', 'pairs', 'threads', 'wall_s', 'cpu_user_s', 'cpu_sys_s', 'cpu_s', 'rx_packets', 'tx_packets', 'tx_errors',
      'tx_no_peer', 'socket_errors', 'rx_batches', 'tx_batches', 'bad_commands', 'dropped',
    ]);
    expect(line).toMatchObject({ type: 'final', reason: 'time-limit', mode: 'node', wall_s: 2.5, cpu_user_s: 1.5, cpu_sys_s: 0.25, cpu_s: 1.75, rx_packets: 10, tx_packets: 8, rx_batches: 0, bad_commands: 5 });
    expect(line['dropped']).toMatchObject({ RTCP: 4, FOREIGN_SOURCE: 0 });
    expect(JSON.parse(statsLine('stats', null, args, { wallS: 1, cpu: { user: 0, system: 0 }, counters, badCommands: 0 }))).not.toHaveProperty('reason');
  });
});
