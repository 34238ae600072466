import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { ensureNativeBuild, type NativePaths } from '../../../tools/bench/native/native-build.js';
import { RelayProcess, type RelayMode } from '../../../tools/bench/native/relay-process.js';
import { runRelayLoadTest } from '../../../tools/bench/native/relay-load-test.js';
import { RtpPacketView } from '../../../engine/src/rtp/index.js';
import { OpenResources, expectLatchesAndRelaysBothWays, expectRelaysToldPeers, expectStopsOnSigterm, frame, receive, rtp, send, udpSocket as openUdpSocket } from './relay-test-helpers.js';

const open = new OpenResources();

afterEach(async () => {
  await open.closeAll();
});

function udpSocket(): ReturnType<typeof openUdpSocket> {
  return openUdpSocket(open);
}

async function startRelay(paths: NativePaths, mode: Exclude<RelayMode, 'node'>, maxSeconds = 30, threads = 2): Promise<RelayProcess> {
  return open.add(await RelayProcess.start({ binary: paths.relay, mode, pairs: 2, threads, basePort: 0, maxSeconds }));
}

describe('C relay', () => {
  let paths: NativePaths;
  beforeAll(async () => {
    paths = await ensureNativeBuild();
  }, 120_000);

  it('socket mode: latches each leg from its first packet and relays A → B re-packetized', async () => {
    await expectLatchesAndRelaysBothWays(await startRelay(paths, 'socket'), open);
  }, 30_000);

  it('mmsg mode: one port per thread, legs told their peers, relays both ways', async () => {
    const relay = await startRelay(paths, 'mmsg');
    const [a, b] = [await udpSocket(), await udpSocket()];
    const { legA, legB } = relay.legs[0]!;
    expect(legA.port).toBe(legB.port);
    relay.setRemote(0, 'A', { address: '127.0.0.1', port: a.address().port });
    relay.setRemote(0, 'B', { address: '127.0.0.1', port: b.address().port });
    expect((await relay.stats()).bad_commands).toBe(0);
    await expectRelaysToldPeers(a, b, { legA, legB });
    const final = await relay.close();
    expect(final).toMatchObject({ rx_packets: 3, tx_packets: 3 });
    expect(final!.rx_batches).toBeGreaterThan(0);
  }, 30_000);

  it('counts what it cannot relay: RTCP, garbage, a foreign payload type, an unknown source', async () => {
    const relay = await startRelay(paths, 'mmsg', 30, 1);
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
    // A second peer for the same leg, and a peer port another leg of the thread already has, are refused.
    relay.setRemote(0, 'A', { address: '127.0.0.1', port: stranger.address().port });
    expect((await relay.stats()).bad_commands).toBe(1);
    relay.setRemote(1, 'A', { address: '127.0.0.1', port: a.address().port });
    expect((await relay.stats()).bad_commands).toBe(2);
    // Refused means not applied: pair 0 still relays A → B.
    const arriving = receive(b, 1);
    await send(a, rtp(2, frame(2)), port);
    expect(Buffer.from(RtpPacketView.parse((await arriving)[0]!.msg).payload)).toEqual(Buffer.from(frame(2)));
  }, 30_000);

  it('stops by itself at its time limit and reports why', async () => {
    const relay = await startRelay(paths, 'socket', 1);
    const final = await relay.exited();
    expect(final).toMatchObject({ type: 'final', reason: 'time-limit' });
    expect(relay.closed).toBe(true);
    expect(() => relay.setRemote(0, 'A', { address: '127.0.0.1', port: 1 })).toThrow(InvalidStateError);
    await expect(relay.close()).resolves.toEqual(final);
  }, 30_000);

  it('stops on SIGTERM', async () => {
    await expectStopsOnSigterm(await startRelay(paths, 'mmsg'));
  }, 30_000);

  it('refuses bad arguments with a message instead of starting', async () => {
    await expect(RelayProcess.start({ binary: paths.relay, mode: 'socket', pairs: 0, threads: 1, basePort: 0, maxSeconds: 5 })).rejects.toThrow(/pairs must be/);
  }, 30_000);
});

describe('C relay under the load generator', () => {
  it('relays every frame of a few pairs and measures its CPU per packet', async () => {
    const paths = await ensureNativeBuild();
    const report = await runRelayLoadTest({ relayBinary: paths.relay, mode: 'mmsg', pairs: 4, seconds: 1, warmupSeconds: 0.5, basePort: 0 });
    expect(report.variant).toBe('c-relay-mmsg');
    expect(report.frames_sent).toBeGreaterThan(0);
    expect(report.frames_received).toBeLessThanOrEqual(report.frames_sent);
    expect(report.packets_out).toBeGreaterThan(0);
    expect(report.cpu_us_per_packet).toBeGreaterThan(0);
    expect(report.relay_final?.bad_commands).toBe(0);
    expect(report.relay_final?.dropped['FOREIGN_SOURCE']).toBe(0);
  }, 90_000);
});
