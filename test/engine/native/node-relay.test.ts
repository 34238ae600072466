import type dgram from 'node:dgram';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { ensureNativeBuild, type NativePaths } from '../../../tools/bench/native/native-build.js';
import { nodeRelayLaunch } from '../../../tools/bench/native/node-relay-launch.js';
import { RelayProcess, type RelayOptions } from '../../../tools/bench/native/relay-process.js';
import { runRelayLoadTest } from '../../../tools/bench/native/relay-load-test.js';
import { RtpPacketView, serializeRtp } from '../../../engine/src/rtp/index.js';
import { OpenResources, expectLatchesAndRelaysBothWays, expectRelaysToldPeers, expectStopsOnSigterm, frame, receive, rtp, send, udpSocket as openUdpSocket } from './relay-test-helpers.js';

const open = new OpenResources();

afterEach(async () => {
  await open.closeAll();
});

function udpSocket(): Promise<dgram.Socket> {
  return openUdpSocket(open);
}

type StartOptions = Partial<Omit<RelayOptions, 'binary' | 'binaryArgs' | 'mode'>>;

async function startNodeRelay(o: StartOptions = {}): Promise<RelayProcess> {
  return open.add(await RelayProcess.start({ ...nodeRelayLaunch(), mode: 'node', pairs: 2, threads: 2, basePort: 0, maxSeconds: 30, ...o }));
}

/** Both legs of a pair told their peers (as the load test does); resolves once the relay has them in place. */
async function connectPair(relay: RelayProcess, pair: number): Promise<{ a: dgram.Socket; b: dgram.Socket }> {
  const [a, b] = [await udpSocket(), await udpSocket()];
  relay.setRemote(pair, 'A', { address: '127.0.0.1', port: a.address().port });
  relay.setRemote(pair, 'B', { address: '127.0.0.1', port: b.address().port });
  expect((await relay.stats()).bad_commands).toBe(0);
  return { a, b };
}

describe('Node relay', () => {
  it('answers ready with one port per leg, in mode node, its pairs spread over its threads', async () => {
    const relay = await startNodeRelay({ pairs: 3, threads: 2 });
    expect(relay.legs).toHaveLength(3);
    const ports = relay.legs.flatMap((l) => [l.legA.port, l.legB.port]);
    expect(new Set(ports).size).toBe(6);
    expect(ports.every((p) => p > 0)).toBe(true);
    expect(relay.legs[0]!.legA.address).toBe('127.0.0.1');
    const stats = await relay.stats();
    expect(stats).toMatchObject({ type: 'stats', mode: 'node', pairs: 3, threads: 2, rx_packets: 0, tx_packets: 0, bad_commands: 0 });
    expect(Object.keys(stats.dropped)).toEqual(['TOO_SHORT', 'BAD_VERSION', 'RTCP', 'CSRC_OVERFLOW', 'EXTENSION_OVERFLOW', 'BAD_PADDING', 'PAYLOAD_TYPE', 'FOREIGN_SOURCE']);
  }, 30_000);

  it('latches each leg from its first packet, relays A → B and back re-packetized, and exits when stdin closes', async () => {
    const final = await expectLatchesAndRelaysBothWays(await startNodeRelay(), open);
    expect(final).toMatchObject({ mode: 'node', tx_errors: 0 });
    expect(final!.cpu_s).toBeCloseTo(final!.cpu_user_s + final!.cpu_sys_s, 5);
    expect(final!.cpu_s).toBeGreaterThan(0);
  }, 30_000);

  it('told its peers over stdin: relays both ways, hears only its peers, refuses a second peer and malformed commands', async () => {
    const relay = await startNodeRelay();
    const { a, b } = await connectPair(relay, 0);
    const stranger = await udpSocket();
    const { legA, legB } = relay.legs[0]!;
    // A connected leg's socket takes datagrams from its peer only: the stranger's never reaches the relay.
    await send(stranger, rtp(1, frame(8)), legA.port);
    await expectRelaysToldPeers(a, b, { legA, legB });
    expect(await relay.stats()).toMatchObject({ rx_packets: 3, tx_packets: 3 });

    relay.setRemote(0, 'A', { address: '127.0.0.1', port: stranger.address().port });
    expect((await relay.stats()).bad_commands).toBe(1);
    relay.setRemote(2, 'A', { address: '127.0.0.1', port: 4000 });
    relay.setRemote(0, 'B', { address: '300.1.2.3', port: 4000 });
    expect((await relay.stats()).bad_commands).toBe(3);
    // Refused means not applied: pair 0 still relays A → B.
    const again = receive(b, 1);
    await send(a, rtp(2, frame(9)), legA.port);
    expect(Buffer.from(RtpPacketView.parse((await again)[0]!.msg).payload)).toEqual(Buffer.from(frame(9)));
  }, 30_000);

  it('counts what it cannot relay by reason: RTCP, garbage, short, bad padding, a foreign payload type', async () => {
    const relay = await startNodeRelay({ pairs: 1, threads: 1 });
    const { a, b } = await connectPair(relay, 0);
    const port = relay.legs[0]!.legA.port;
    await send(a, Uint8Array.of(0x81, 0xc8, 0, 6, ...new Array<number>(24).fill(0)), port);
    await send(a, Uint8Array.of(0x12, 0x34), port);
    await send(a, Uint8Array.of(0x80, 0x00, 0, 1), port);
    await send(a, Uint8Array.of(0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x55, 0), port);
    await send(a, rtp(1, frame(1), 8), port);
    await expect.poll(async () => (await relay.stats()).rx_packets, { timeout: 10_000 }).toBe(5);
    const stats = await relay.stats();
    expect(stats.dropped).toEqual({ TOO_SHORT: 1, BAD_VERSION: 1, RTCP: 1, CSRC_OVERFLOW: 0, EXTENSION_OVERFLOW: 0, BAD_PADDING: 1, PAYLOAD_TYPE: 1, FOREIGN_SOURCE: 0 });
    expect(stats.tx_packets).toBe(0);
    // Dropped packets do not advance the outgoing stream: the next relayed packet is its first (marker set).
    const arriving = receive(b, 1);
    await send(a, rtp(2, frame(2)), port);
    expect(RtpPacketView.parse((await arriving)[0]!.msg).marker).toBe(true);
  }, 30_000);

  it('stops by itself at its time limit and reports why', async () => {
    const relay = await startNodeRelay({ maxSeconds: 1 });
    const final = await relay.exited();
    expect(final).toMatchObject({ type: 'final', reason: 'time-limit', mode: 'node' });
    expect(relay.closed).toBe(true);
    expect(() => relay.setRemote(0, 'A', { address: '127.0.0.1', port: 1 })).toThrow(InvalidStateError);
    await expect(relay.close()).resolves.toEqual(final);
  }, 30_000);

  it('stops on SIGTERM', async () => {
    await expectStopsOnSigterm(await startNodeRelay());
  }, 30_000);

  it("refuses bad arguments with relay.c's message instead of starting", async () => {
    await expect(startNodeRelay({ pairs: 0 })).rejects.toThrow(/pairs must be an integer in 1\.\.30000, got '0'/);
  }, 30_000);
});

/**
 * Inputs that exercise every part of the rewrite: CSRCs, a header extension
 * and padding (the output header is always a fresh 12 bytes), a marker on the
 * input (the output's marker is the packetizer's), odd payload sizes, and all
 * 256 µ-law codes, 0x7F included, which decode→encode turns into 0xFF.
 */
function rewriteInputs(): Uint8Array[] {
  const allCodes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const base = { payloadType: 0, ssrc: 0x01020304 };
  return [
    serializeRtp({ ...base, marker: true, sequenceNumber: 65_535, timestamp: 0xffff_ff00 }, allCodes.subarray(0, 160)),
    serializeRtp({ ...base, marker: false, sequenceNumber: 0, timestamp: 160, csrcs: [7, 8] }, allCodes.subarray(96, 256)),
    serializeRtp({ ...base, marker: false, sequenceNumber: 1, timestamp: 320, extension: { profile: 0xbede, data: Uint8Array.of(1, 2, 3, 4) } }, allCodes.subarray(0, 80)),
    serializeRtp({ ...base, marker: false, sequenceNumber: 2, timestamp: 400, paddingLength: 4 }, allCodes.subarray(120, 133)),
    serializeRtp({ ...base, marker: true, sequenceNumber: 9, timestamp: 9999 }, allCodes),
  ];
}

/**
 * A relayed stream with its random parts made relative: sequence and
 * timestamp as offsets from the first packet, the SSRC as 0 once checked to
 * be the same throughout. Everything else is compared byte for byte.
 */
function normalized(stream: Buffer[]): number[][] {
  const first = RtpPacketView.parse(stream[0]!);
  return stream.map((msg) => {
    const v = RtpPacketView.parse(msg);
    expect(v.ssrc).toBe(first.ssrc);
    const out = Buffer.from(msg);
    out.writeUInt16BE((v.sequenceNumber - first.sequenceNumber) & 0xffff, 2);
    out.writeUInt32BE((v.timestamp - first.timestamp) >>> 0, 4);
    out.writeUInt32BE(0, 8);
    return [...out];
  });
}

async function relayedStream(relay: RelayProcess, inputs: Uint8Array[]): Promise<Buffer[]> {
  const { a, b } = await connectPair(relay, 0);
  const arriving = receive(b, inputs.length);
  for (const input of inputs) await send(a, input, relay.legs[0]!.legA.port);
  return (await arriving).map((g) => g.msg);
}

describe('Node relay against the C relay', () => {
  let paths: NativePaths;
  beforeAll(async () => {
    paths = await ensureNativeBuild();
  }, 120_000);

  it('rewrites the same input packets into the same bytes as the C relay (socket mode)', async () => {
    const inputs = rewriteInputs();
    const c = await relayedStream(open.add(await RelayProcess.start({ binary: paths.relay, mode: 'socket', pairs: 1, threads: 1, basePort: 0, maxSeconds: 30 })), inputs);
    const node = await relayedStream(await startNodeRelay({ pairs: 1, threads: 1 }), inputs);
    expect(normalized(node)).toEqual(normalized(c));
    // And the rewrite did happen: a fresh 12-byte header, the payload transcoded (0x7F → 0xFF), the marker only first.
    const views = node.map((msg) => RtpPacketView.parse(msg));
    expect(views.map((v) => [v.headerLength, v.payloadLength, v.paddingLength, v.marker])).toEqual([
      [12, 160, 0, true],
      [12, 160, 0, false],
      [12, 80, 0, false],
      [12, 13, 0, false],
      [12, 256, 0, false],
    ]);
    expect(views[0]!.payload[0x7f]).toBe(0xff);
    expect(views.map((v) => (v.timestamp - views[0]!.timestamp) >>> 0)).toEqual([0, 160, 320, 400, 413]);
  }, 60_000);
});

describe('Node relay under the load generator', () => {
  it('relays the frames of a few pairs and measures its CPU per packet', async () => {
    const report = await runRelayLoadTest({ mode: 'node', pairs: 4, seconds: 1, warmupSeconds: 0.5, basePort: 0 });
    expect(report.variant).toBe('node-relay');
    expect(report.frames_sent).toBeGreaterThan(0);
    expect(report.frames_received).toBeGreaterThan(0);
    expect(report.frames_received).toBeLessThanOrEqual(report.frames_sent);
    expect(report.packets_in).toBeGreaterThan(0);
    expect(report.packets_out).toBeGreaterThan(0);
    expect(report.cpu_us_per_packet).toBeGreaterThan(0);
    expect(report.rx_batch_mean).toBeNull();
    expect(report.relay_final).toMatchObject({ mode: 'node', bad_commands: 0, threads: 2 });
    expect(report.relay_final?.dropped['FOREIGN_SOURCE']).toBe(0);
  }, 90_000);
});
