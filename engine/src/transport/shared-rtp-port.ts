import { InvalidStateError } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import { EngineError } from '../session/errors.js';
import type { LegReceiver, LegSocket } from '../session/leg-socket.js';
import type { UdpEndpoint } from '../worker/protocol.js';
import { datagramPeer, intToIpv4, type DatagramPeer, type DatagramPort, type ReceivedBatch } from './datagram/datagram-port.js';
import { SourceDemux } from './datagram/source-demux.js';

/** What a shard reports about its shared port (ShardStats.sharedPort). */
export interface SharedPortStats {
  io: DatagramPort['io'];
  local: UdpEndpoint;
  /** Legs registered on the port, and those of them whose Asterisk source is known. */
  legs: number;
  routedSources: number;
  rxPackets: number;
  rxBatches: number;
  /** Datagrams from a source no leg here was told about: dropped (strict RTP), as a connected socket's kernel would. */
  rxForeign: number;
  rxTruncated: number;
  rxKernelDrops: number | null;
  txPackets: number;
  txBatches: number;
  txWouldBlock: number;
  txErrors: number;
  handlerErrors: number;
  /** Receive buffer the kernel granted (capped by net.core.rmem_max). */
  recvBufferBytes: number;
}

/**
 * One batched UDP port that carries the RTP of many legs of one worker
 * (`--io native`). Asterisk sends each externalMedia channel's RTP from that
 * channel's own RTP instance (chan_rtp.c's unicast_rtp_request creates one per
 * channel, bound to its own port: UNICASTRTP_LOCAL_ADDRESS:PORT), so the
 * source address names the leg, and several channels may be given the same
 * external_host (docs/batched-io.md). Each leg registers its Asterisk source
 * when the control plane tells it (setRemote); a datagram from any other
 * source is dropped and counted here, never shown to a leg: the strict RTP a
 * connected socket gets from the kernel.
 *
 * Sending: legs queue their datagrams on the port (copied into its send
 * arena); the first datagram of a turn of the event loop schedules one flush
 * as a microtask, so a tick's datagrams (one scheduler slot's, or those an
 * early reader sends while a batch is handled) leave in one sendmmsg.
 *
 * The port owns the socket; legs own their shares. close() closes the socket
 * and every share (their sends are then dropped, their receives stop).
 * `onIdle` is called when the last leg's share is released: the shard closes
 * the port then, so an engine with no pairs holds no socket on either layout.
 */
export class SharedRtpPort {
  readonly #port: DatagramPort;
  readonly #log: Logger;
  readonly #demux = new SourceDemux<SharedLegSocket>();
  readonly #legs = new Set<SharedLegSocket>();
  readonly local: UdpEndpoint;
  readonly #onIdle: (port: SharedRtpPort) => void;
  #flushScheduled = false;
  #rxForeign = 0;
  #closed = false;

  constructor(port: DatagramPort, log: Logger, onIdle: (port: SharedRtpPort) => void = () => undefined) {
    this.#port = port;
    this.#log = log;
    this.#onIdle = onIdle;
    this.local = { address: port.local.address, port: port.local.port };
    port.onBatch(this.#onBatch);
  }

  get io(): DatagramPort['io'] {
    return this.#port.io;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A new leg's share: it hears nothing until it connects to its Asterisk source. */
  openLeg(): SharedLegSocket {
    if (this.#closed) throw new InvalidStateError(`the shared RTP port ${this.local.address}:${this.local.port} is closed`);
    const leg = new SharedLegSocket(this);
    this.#legs.add(leg);
    return leg;
  }

  /** @internal SharedLegSocket.connect. */
  route(peer: DatagramPeer, leg: SharedLegSocket): void {
    if (this.#closed) throw new InvalidStateError(`the shared RTP port ${this.local.address}:${this.local.port} is closed`);
    if (this.#demux.get(peer.ipv4, peer.port) === leg) return;
    if (!this.#demux.add(peer, leg)) {
      // Asterisk gives every externalMedia channel its own source: two legs naming one is a caller's mistake.
      throw new EngineError('REMOTE_IN_USE', `another leg on ${this.local.address}:${this.local.port} already receives from ${peer.address}:${peer.port}`);
    }
  }

  /** @internal */
  unroute(peer: DatagramPeer, leg: SharedLegSocket): void {
    if (this.#demux.get(peer.ipv4, peer.port) === leg) this.#demux.delete(peer);
  }

  /** @internal */
  release(leg: SharedLegSocket): void {
    if (!this.#legs.delete(leg)) return;
    if (this.#legs.size === 0 && !this.#closed) this.#onIdle(this);
  }

  /** @internal The slot to write a datagram into. */
  sendSlot(): Uint8Array {
    return this.#port.sendSlot();
  }

  /** @internal Queues the slot's datagram; one flush per turn of the event loop sends the lot. */
  commit(length: number, peer: DatagramPeer): void {
    this.#port.commit(length, peer);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (!this.#closed) this.#port.flush();
  };

  readonly #onBatch = (batch: ReceivedBatch): void => {
    const demux = this.#demux;
    for (let i = 0; i < batch.count; i++) {
      const leg = demux.get(batch.sourceIpv4(i), batch.sourcePort(i));
      if (leg === undefined) {
        this.#onForeign(batch.sourceIpv4(i), batch.sourcePort(i));
        continue;
      }
      // Cut to maxDatagram (1500): no RTP frame of ours comes near it; counted by the port (rxTruncated).
      if (batch.truncated(i)) continue;
      leg.deliver(batch.view(i), batch.length(i));
    }
  };

  #onForeign(ipv4: number, port: number): void {
    const n = ++this.#rxForeign;
    // Power-of-two sampling: the first strangers are visible, a spray is not a log flood.
    if ((n & (n - 1)) === 0) {
      this.#log.warn({ port: this.local.port, source: `${intToIpv4(ipv4)}:${port}`, count: n }, 'shared RTP port dropped datagrams from a source no leg was told about');
    }
  }

  stats(): SharedPortStats {
    const s = this.#port.stats();
    return {
      io: this.#port.io,
      local: { ...this.local },
      legs: this.#legs.size,
      routedSources: this.#demux.size,
      rxPackets: s.rxPackets,
      rxBatches: s.rxBatches,
      rxForeign: this.#rxForeign,
      rxTruncated: s.rxTruncated,
      rxKernelDrops: s.rxKernelDrops,
      txPackets: s.txPackets,
      txBatches: s.txBatches,
      txWouldBlock: s.txWouldBlock,
      txErrors: s.txErrors,
      handlerErrors: s.handlerErrors,
      recvBufferBytes: s.recvBufferBytes,
    };
  }

  /** Closes the socket (its fd is released at once) and every leg's share. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const leg of [...this.#legs]) leg.close();
    this.#port.close();
  }
}

/** One leg's share of a SharedRtpPort. */
export class SharedLegSocket implements LegSocket {
  readonly local: UdpEndpoint;
  readonly #port: SharedRtpPort;
  #receive: LegReceiver | null = null;
  #peer: DatagramPeer | null = null;
  #closed = false;

  constructor(port: SharedRtpPort) {
    this.#port = port;
    this.local = port.local;
  }

  /** Socket errors are the port's (counted in its stats), never one leg's: `onError` is not called. */
  start(receive: LegReceiver, _onError?: (err: Error) => void): void {
    this.#receive = receive;
  }

  /** @internal From the port: a datagram from this leg's source, in the port's arena (valid only now). */
  deliver(view: Uint8Array, length: number): void {
    const receive = this.#receive;
    const peer = this.#peer;
    if (receive === null || peer === null) return;
    // The arena is overwritten by the next receive call, and the jitter buffer keeps what it is given.
    const copy = Buffer.allocUnsafe(length);
    copy.set(view.subarray(0, length));
    receive(copy, length, peer.address, peer.port);
  }

  connect(peer: UdpEndpoint): Promise<void> {
    try {
      if (this.#closed) throw new InvalidStateError('the leg socket is closed');
      const next = datagramPeer(peer.address, peer.port);
      this.#port.route(next, this);
      if (this.#peer !== null && (this.#peer.ipv4 !== next.ipv4 || this.#peer.port !== next.port)) this.#port.unroute(this.#peer, this);
      this.#peer = next;
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  disconnect(): void {
    if (this.#peer === null) return;
    this.#port.unroute(this.#peer, this);
    this.#peer = null;
  }

  sendBuffer(): Uint8Array {
    return this.#port.sendSlot();
  }

  send(_buffer: Uint8Array, length: number): void {
    const peer = this.#peer;
    if (peer === null) throw new InvalidStateError('the leg socket has no peer');
    this.#port.commit(length, peer);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#receive = null;
    if (this.#peer !== null) this.#port.unroute(this.#peer, this);
    this.#peer = null;
    this.#port.release(this);
  }
}
