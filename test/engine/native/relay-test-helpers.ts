import dgram from 'node:dgram';
import { expect } from 'vitest';
import type { RelayProcess, RelayStats } from '../../../tools/bench/native/relay-process.js';
import { RtpPacketView, serializeRtp } from '../../../engine/src/rtp/index.js';

/** What a test opened, closed after it (sockets, relays) in the order they were opened. */
export class OpenResources {
  readonly #items: Array<{ close(): unknown }> = [];

  add<T extends { close(): unknown }>(item: T): T {
    this.#items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    for (const item of this.#items.splice(0)) await item.close();
  }
}

export async function udpSocket(open: OpenResources): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  open.add({ close: () => new Promise<void>((resolve) => socket.close(() => resolve())) });
  return socket;
}

/** Collects datagrams until `count` arrived (or fails after a generous timeout). */
export function receive(socket: dgram.Socket, count: number): Promise<Array<{ msg: Buffer; port: number }>> {
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

export function send(socket: dgram.Socket, packet: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(packet, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

/** µ-law frames that survive decode→encode unchanged (every code but 0x7F does). */
export function frame(n: number): Uint8Array {
  return Uint8Array.from({ length: 160 }, (_, i) => ((n * 31 + i * 7) % 256 === 0x7f ? 0x7e : (n * 31 + i * 7) % 256));
}

export function rtp(seq: number, payload: Uint8Array, payloadType = 0): Uint8Array {
  return serializeRtp({ marker: false, payloadType, sequenceNumber: seq, timestamp: 1000 + 160 * seq, ssrc: 0xa1a2a3a4 }, payload);
}

/** The relayed stream must be re-packetized: its own SSRC, consecutive sequence, timestamp +160, marker only first. */
export function expectRepacketized(received: Array<{ msg: Buffer }>, frames: Uint8Array[]): void {
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

/**
 * The scenario every relay (C or Node) must pass: B speaks first and is dropped for want of a peer on A's side; then
 * A's frames reach B re-packetized from leg B's port, and B's reply reaches A from leg A's port. Returns the relay's
 * final stats line after stdin closes (5 received, 4 sent, 1 without a peer).
 */
export async function expectLatchesAndRelaysBothWays(relay: RelayProcess, open: OpenResources): Promise<RelayStats | null> {
  const [a, b] = [await udpSocket(open), await udpSocket(open)];
  const { legA, legB } = relay.legs[1]!;
  expect(legA.port).not.toBe(legB.port);
  await send(b, rtp(1, frame(99)), legB.port);
  await expect.poll(async () => (await relay.stats()).tx_no_peer, { timeout: 10_000 }).toBe(1);
  const frames = [frame(1), frame(2), frame(3)];
  const arriving = receive(b, 3);
  for (const [i, f] of frames.entries()) await send(a, rtp(10 + i, f), legA.port);
  const got = await arriving;
  expect(got.every((g) => g.port === legB.port)).toBe(true);
  expectRepacketized(got, frames);
  const back = receive(a, 1);
  await send(b, rtp(2, frame(7)), legB.port);
  const [reply] = await back;
  expect(reply!.port).toBe(legA.port);
  expect(Buffer.from(RtpPacketView.parse(reply!.msg).payload)).toEqual(Buffer.from(frame(7)));
  const final = await relay.close();
  expect(final).toMatchObject({ type: 'final', reason: 'stdin-closed', rx_packets: 5, tx_packets: 4, tx_no_peer: 1 });
  return final;
}

/** Peers already known: two frames A → B arrive re-packetized, one frame B → A comes back unchanged. */
export async function expectRelaysToldPeers(a: dgram.Socket, b: dgram.Socket, legs: { legA: { port: number }; legB: { port: number } }): Promise<void> {
  const frames = [frame(4), frame(5)];
  const arriving = receive(b, 2);
  for (const [i, f] of frames.entries()) await send(a, rtp(i, f), legs.legA.port);
  expectRepacketized(await arriving, frames);
  const back = receive(a, 1);
  await send(b, rtp(0, frame(6)), legs.legB.port);
  expect(Buffer.from(RtpPacketView.parse((await back)[0]!.msg).payload)).toEqual(Buffer.from(frame(6)));
}

/** A relay sent SIGTERM stops and says so in its final line. */
export async function expectStopsOnSigterm(relay: RelayProcess): Promise<void> {
  expect(relay.pid).toBeGreaterThan(0);
  const exited = relay.exited();
  process.kill(relay.pid!, 'SIGTERM');
  expect(await exited).toMatchObject({ type: 'final', reason: 'signal' });
}
