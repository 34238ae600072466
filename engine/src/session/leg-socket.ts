import type dgram from 'node:dgram';
import type { UdpEndpoint } from '../worker/protocol.js';

/**
 * Called once per datagram meant for a leg. `data` holds the datagram in its
 * first `length` bytes and stays the leg's to keep (the jitter buffer keeps
 * references); `address`/`port` are its source.
 */
export type LegReceiver = (data: Uint8Array, length: number, address: string, port: number) => void;

/**
 * What an RtpLeg needs from the network, whichever socket layout carries it:
 * a UDP socket of its own (DgramLegSocket, the `--io dgram` layout), or a
 * share of its worker's batched port, told apart from the other legs there by
 * Asterisk's source address (SharedLegSocket, `--io native`). Everything
 * above it (strict RTP, parsing, the jitter buffer, pacing) is the leg's and
 * the same for both.
 */
export interface LegSocket {
  /** Where Asterisk must send this leg's RTP (externalMedia's external_host). */
  readonly local: UdpEndpoint;
  /** Starts delivering datagrams to `receive`, and socket errors to `onError`. Called once. */
  start(receive: LegReceiver, onError: (err: Error) => void): void;
  /** From now on only `peer` is heard, and sends go there. Rejects when the socket cannot (a closed socket, a source another leg has). */
  connect(peer: UdpEndpoint): Promise<void>;
  /** Forgets the current peer (before a connect to another). */
  disconnect(): void;
  /** The buffer to write the next datagram into (at least `bytes` long), from offset 0. */
  sendBuffer(bytes: number): Uint8Array;
  /** Sends the first `length` bytes of the buffer sendBuffer returned last, to the connected peer. Throws on a synchronous failure. */
  send(buffer: Uint8Array, length: number): void;
  /** Releases the socket (or this leg's share of one). Idempotent. */
  close(): void;
}

/**
 * Send buffers rotate so a datagram that libuv had to queue (EAGAIN) is never
 * overwritten by the next tick before it leaves: four ticks is 80 ms of slack.
 */
const SEND_RING = 4;

/**
 * A leg's own node:dgram socket. Once its peer is known the socket is
 * connected, so the kernel drops datagrams from anyone else and `send` needs
 * no address (the cheapest dgram path, docs/benchmarks.md).
 */
export class DgramLegSocket implements LegSocket {
  readonly local: UdpEndpoint;
  readonly #socket: dgram.Socket;
  readonly #sendRing: Buffer[] = [];
  #sendIndex = 0;
  #connected = false;
  #receive: LegReceiver | null = null;

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    const address = socket.address();
    this.local = { address: address.address, port: address.port };
  }

  start(receive: LegReceiver, onError: (err: Error) => void): void {
    this.#receive = receive;
    this.#socket.on('message', this.#onMessage);
    this.#socket.on('error', onError);
  }

  readonly #onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    // dgram hands out a fresh Buffer per datagram: the leg may keep it.
    this.#receive?.(msg, msg.length, rinfo.address, rinfo.port);
  };

  connect(peer: UdpEndpoint): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.#socket.connect(peer.port, peer.address, (err?: Error) => {
          if (err) reject(err);
          else {
            this.#connected = true;
            resolve();
          }
        });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  disconnect(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#socket.disconnect();
  }

  sendBuffer(bytes: number): Uint8Array {
    let buffer = this.#sendRing[this.#sendIndex];
    if (buffer === undefined || buffer.length < bytes) {
      buffer = Buffer.alloc(bytes);
      this.#sendRing[this.#sendIndex] = buffer;
    }
    this.#sendIndex = (this.#sendIndex + 1) % SEND_RING;
    return buffer;
  }

  send(buffer: Uint8Array, length: number): void {
    // A whole buffer skips dgram's per-call slice (one allocation less per packet).
    if (length === buffer.length) this.#socket.send(buffer);
    else this.#socket.send(buffer, 0, length);
  }

  close(): void {
    this.#receive = null;
    this.#socket.off('message', this.#onMessage);
    // The error listener stays: a late ICMP error must not become an uncaught exception.
    try {
      this.#socket.close();
    } catch {
      // Already closed (by the runtime at worker teardown, or an earlier close): nothing left to release.
    }
  }
}
