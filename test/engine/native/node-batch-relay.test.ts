import type dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRelayArgs, RelayUsageError } from '../../../tools/bench/native/node-relay-cli.js';
import { nodeRelayLaunch } from '../../../tools/bench/native/node-relay-launch.js';
import { RelayProcess } from '../../../tools/bench/native/relay-process.js';
import { runRelayLoadTest } from '../../../tools/bench/native/relay-load-test.js';
import { RtpPacketView } from '../../../engine/src/rtp/index.js';
import { OpenResources, expectRelaysToldPeers, frame, receive, rtp, send, udpSocket as openUdpSocket } from './relay-test-helpers.js';

/**
 * The Node relay in mode node-batch: relay.c's mmsg shape (one port per
 * thread, legs known by their peers' addresses) on a DatagramPort, with the
 * udp_batch addon or node:dgram underneath. bench:batch-io measures it.
 */
const open = new OpenResources();

afterEach(async () => {
  await open.closeAll();
});

function udpSocket(): Promise<dgram.Socket> {
  return openUdpSocket(open);
}

async function startBatchRelay(io: 'native' | 'dgram', threads = 2): Promise<RelayProcess> {
  const launch = nodeRelayLaunch();
  return open.add(
    await RelayProcess.start({ binary: launch.binary, binaryArgs: [...launch.binaryArgs, '--io', io], mode: 'node-batch', pairs: 2, threads, basePort: 0, maxSeconds: 30 }),
  );
}

describe('node-batch relay command line', () => {
  it('takes --io and --batch in mode node-batch only', () => {
    expect(parseRelayArgs(['--mode', 'node-batch', '--io', 'dgram', '--batch', '32', '--pairs', '2'])).toMatchObject({ pairs: 2, batch: { io: 'dgram', size: 32 } });
    expect(parseRelayArgs(['--mode', 'node-batch'])).toMatchObject({ batch: { io: 'native', size: 64 } });
    expect(parseRelayArgs(['--mode', 'node'])).not.toHaveProperty('batch');
    expect(() => parseRelayArgs(['--io', 'native'])).toThrow(RelayUsageError);
    expect(() => parseRelayArgs(['--mode', 'node-batch', '--io', 'epoll'])).toThrow(RelayUsageError);
    expect(() => parseRelayArgs(['--mode', 'node-batch', '--batch', '0'])).toThrow(/--batch must be an integer in 1..1024/);
  });
});

describe.each(['native', 'dgram'] as const)('node-batch relay (%s)', (io) => {
  it('one port per thread, legs told their peers, relays both ways', async () => {
    const relay = await startBatchRelay(io);
    const [a, b] = [await udpSocket(), await udpSocket()];
    const { legA, legB } = relay.legs[0]!;
    expect(legA.port).toBe(legB.port);
    expect(relay.legs[1]!.legA.port).not.toBe(legA.port);
    relay.setRemote(0, 'A', { address: '127.0.0.1', port: a.address().port });
    relay.setRemote(0, 'B', { address: '127.0.0.1', port: b.address().port });
    expect((await relay.stats()).bad_commands).toBe(0);
    await expectRelaysToldPeers(a, b, { legA, legB });
    const final = await relay.close();
    expect(final).toMatchObject({ mode: 'node-batch', rx_packets: 3, tx_packets: 3, tx_errors: 0 });
    expect(final!.rx_batches).toBeGreaterThan(0);
    expect(final!.tx_batches).toBeGreaterThan(0);
  }, 30_000);

  it('counts what it cannot relay: RTCP, garbage, a foreign payload type, an unknown source; refuses a taken source', async () => {
    const relay = await startBatchRelay(io, 1);
    const [a, b, stranger] = [await udpSocket(), await udpSocket(), await udpSocket()];
    relay.setRemote(0, 'A', { address: '127.0.0.1', port: a.address().port });
    relay.setRemote(0, 'B', { address: '127.0.0.1', port: b.address().port });
    await relay.stats();
    const port = relay.legs[0]!.legA.port;
    await send(a, Uint8Array.of(0x81, 0xc8, 0, 6, ...new Array<number>(24).fill(0)), port);
    await send(a, Uint8Array.of(0x12, 0x34), port);
    await send(a, rtp(1, frame(1), 8), port);
    await send(stranger, rtp(1, frame(1)), port);
    await expect.poll(async () => (await relay.stats()).rx_packets, { timeout: 10_000 }).toBe(4);
    const stats = await relay.stats();
    expect(stats.dropped).toMatchObject({ RTCP: 1, BAD_VERSION: 1, PAYLOAD_TYPE: 1, FOREIGN_SOURCE: 1 });
    expect(stats.tx_packets).toBe(0);
    relay.setRemote(0, 'A', { address: '127.0.0.1', port: stranger.address().port });
    expect((await relay.stats()).bad_commands).toBe(1);
    relay.setRemote(1, 'A', { address: '127.0.0.1', port: a.address().port });
    expect((await relay.stats()).bad_commands).toBe(2);
    const arriving = receive(b, 1);
    await send(a, rtp(2, frame(2)), port);
    expect(Buffer.from(RtpPacketView.parse((await arriving)[0]!.msg).payload)).toEqual(Buffer.from(frame(2)));
  }, 30_000);

  it('under the load generator: relays the frames of a few pairs in batches and measures its CPU per packet', async () => {
    const report = await runRelayLoadTest({ mode: 'node-batch', io, pairs: 4, seconds: 1, warmupSeconds: 0.5, basePort: 0 });
    expect(report.variant).toBe(`node-batch-${io}`);
    expect(report.frames_sent).toBeGreaterThan(0);
    expect(report.frames_received).toBeGreaterThan(0);
    expect(report.frames_received).toBeLessThanOrEqual(report.frames_sent);
    expect(report.cpu_us_per_packet).toBeGreaterThan(0);
    expect(report.rx_batch_mean).toBeGreaterThanOrEqual(1);
    expect(report.relay_final).toMatchObject({ mode: 'node-batch', bad_commands: 0 });
    expect(report.relay_final?.dropped['FOREIGN_SOURCE']).toBe(0);
  }, 90_000);
});
