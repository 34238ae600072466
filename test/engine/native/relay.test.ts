import dgram from 'node:dgram';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../engine/src/common/errors.js';
import { ensureNativeBuild, type NativePaths } from '../../../engine/src/bench/native/native-build.js';
import { RelayProcess, type RelayMode } from '../../../engine/src/bench/native/relay-process.js';
import { runRelayLoadTest } from '../../../engine/src/bench/native/relay-load-test.js';
import { RtpPacketView, serializeRtp } from '../../../engine/src/rtp/index.js';

const open: Array<{ close(): unknown }> = [];

afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

async function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => socket.close(() => resolve())) });
  return socket;
}

async function startRelay(paths: NativePaths, mode: RelayMode, maxSeconds = 30, threads = 2): Promise<RelayProcess> {
  const relay = await RelayProcess.start({ binary: paths.relay, mode, pairs: 2, threads, basePort: 0, maxSeconds });
  open.push(relay);
  return relay;
}

/** Collects datagrams until `count` arrived (or fails after a generous timeout). */
function receive(socket: dgram.Socket, count: number): Promise<Array<{ msg: Buffer; port: number }>> {
  const got: Array<{ msg: Buffer; port: number }> = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`received ${got.length} of ${count} datagrams`));
    }, 10_000);
    const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
      got.push({ msg, port: rinfo.port });
      if (got.length === count) {
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(got);
      }
    };
    socket.on('message', onMessage);
  });
}

function send(socket: dgram.Socket, packet: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(packet, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

/** µ-law frames that survive decode→encode unchanged (every code but 0x7F does). */
function frame(n: number): Uint8Array {
  return Uint8Array.from({ length: 160 }, (_, i) => (n * 31 + i * 7) % 256 === 0x7f ? 0x7e : (n * 31 + i * 7) % 256);
}

function rtp(seq: number, payload: Uint8Array, payloadType = 0): Uint8Array {
  return serializeRtp({ marker: false, payloadType, sequenceNumber: seq, timestamp: 1000 + 160 * seq, ssrc: 0xa1a2a3a4 }, payload);
}

/** The relayed stream must be re-packetized: its own SSRC, consecutive sequence, timestamp +160, marker only first. */
function expectRepacketized(received: Array<{ msg: Buffer }>, frames: Uint8Array[]): void {
  const views = received.map(({ msg }) => RtpPacketView.parse(msg));
  views.forEach((v, i) => {
    expect(v.payloadType).toBe(0);
    expect(v.payloadLength).toBe(160);
    expect(Buffer.from(v.payload)).toEqual(Buffer.from(frames[i]!));
    expect(v.marker).toBe(i === 0);
    expect(v.ssrc).toBe(views[0]!.ssrc);
    expect(v.sequenceNumber).toBe((views[0]!.sequenceNumber + i) & 0xffff);
    expect(v.timestamp).toBe((views[0]!.timestamp + 160 * i) >>> 0);
  });
  expect(views[0]!.ssrc).not.toBe(0xa1a2a3a4);
}

describe('C relay', () => {
  let paths: NativePaths;
  beforeAll(async () => {
    paths = await ensureNativeBuild();
  }, 120_000);

  it('socket mode: latches each leg from its first packet and relays A → B re-packetized', async () => {
    const relay = await startRelay(paths, 'socket');
    const [a, b] = [await udpSocket(), await udpSocket()];
    const { legA, legB } = relay.legs[1]!;
    expect(legA.port).not.toBe(legB.port);
    // B speaks first so its leg knows where to send; A's leg has no peer yet and drops B's audio.
    await send(b, rtp(1, frame(99)), legB.port);
    await expect.poll(async () => (await relay.stats()).tx_no_peer, { timeout: 10_000 }).toBe(1);
    const frames = [frame(1), frame(2), frame(3)];
    const arriving = receive(b, 3);
    for (const [i, f] of frames.entries()) await send(a, rtp(10 + i, f), legA.port);
    const got = await arriving;
    expect(got.every((g) => g.port === legB.port)).toBe(true);
    expectRepacketized(got, frames);
    // And back: B → A, from leg A's port.
    const back = receive(a, 1);
    await send(b, rtp(2, frame(7)), legB.port);
    const [reply] = await back;
    expect(reply!.port).toBe(legA.port);
    expect(Buffer.from(RtpPacketView.parse(reply!.msg).payload)).toEqual(Buffer.from(frame(7)));

    const final = await relay.close();
    expect(final).toMatchObject({ type: 'final', reason: 'stdin-closed', rx_packets: 5, tx_packets: 4, tx_no_peer: 1 });
  }, 30_000);

  it('mmsg mode: one port per thread, legs told their peers, relays both ways', async () => {
    const relay = await startRelay(paths, 'mmsg');
    const [a, b] = [await udpSocket(), await udpSocket()];
    const { legA, legB } = relay.legs[0]!;
    expect(legA.port).toBe(legB.port);
    relay.setRemote(0, 'A', { address: '127.0.0.1', port: a.address().port });
    relay.setRemote(0, 'B', { address: '127.0.0.1', port: b.address().port });
    expect((await relay.stats()).bad_commands).toBe(0);
    const frames = [frame(4), frame(5)];
    const arriving = receive(b, 2);
    for (const [i, f] of frames.entries()) await send(a, rtp(i, f), legA.port);
    expectRepacketized(await arriving, frames);
    const back = receive(a, 1);
    await send(b, rtp(0, frame(6)), legB.port);
    expect(Buffer.from(RtpPacketView.parse((await back)[0]!.msg).payload)).toEqual(Buffer.from(frame(6)));
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
    const relay = await startRelay(paths, 'mmsg');
    expect(relay.pid).toBeGreaterThan(0);
    const exited = relay.exited();
    process.kill(relay.pid!, 'SIGTERM');
    expect(await exited).toMatchObject({ type: 'final', reason: 'signal' });
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
