import dgram from 'node:dgram';
import { RtpPacketizer } from '../../../engine/src/rtp/index.js';
import { emptyCounters, type LegSide, type RelayCounters } from './node-relay-protocol.js';
import { RelayRewriter } from './node-relay-rewrite.js';

const PCMU_PAYLOAD_TYPE = 0;

/** A leg's peer: unknown, being connected (claimed, not yet usable), or connected. As relay.c's PEER_* states. */
const PeerState = { Unknown: 0, Connecting: 1, Ready: 2 } as const;
type PeerState = (typeof PeerState)[keyof typeof PeerState];

interface ShardOptions {
  pairs: readonly number[];
  bindAddress: string;
  basePort: number;
  socketBufferBytes: number;
}

/**
 * One leg: its own UDP socket, connected to its peer once known, and the
 * packetizer of the stream it sends (the other leg's audio, re-packetized).
 */
class RelayLeg {
  peerState: PeerState = PeerState.Unknown;
  /** Set right after construction: legs come in pairs. */
  other: RelayLeg = this;
  readonly packetizer = new RtpPacketizer({ payloadType: PCMU_PAYLOAD_TYPE });

  constructor(
    readonly pair: number,
    readonly side: LegSide,
    readonly socket: dgram.Socket,
  ) {}
}

/**
 * The pairs one worker thread owns, relayed the way relay.c's socket mode
 * does: every datagram is rewritten (node-relay-rewrite.ts) and sent on the
 * other leg's connected socket the moment it arrives. A leg latches its peer
 * from its first valid packet unless told one first. No packet crosses threads.
 */
export class RelayShard {
  readonly counters: RelayCounters = emptyCounters();
  readonly #legs = new Map<number, { A: RelayLeg; B: RelayLeg }>();
  readonly #rewriter = new RelayRewriter();
  readonly #options: ShardOptions;
  /** Connects started by `setPeer` still under way, and who waits for them to settle. */
  #pendingConnects = 0;
  #settledWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: ShardOptions) {
    this.#options = options;
  }

  /** Binds every leg's socket; resolves to the ports, pair by pair. */
  async bind(): Promise<Array<{ pair: number; portA: number; portB: number }>> {
    const bound: Array<{ pair: number; portA: number; portB: number }> = [];
    for (const pair of this.#options.pairs) {
      const [socketA, socketB] = await Promise.all([this.#bindSocket(pair, 0), this.#bindSocket(pair, 1)]);
      const a = new RelayLeg(pair, 'A', socketA);
      const b = new RelayLeg(pair, 'B', socketB);
      a.other = b;
      b.other = a;
      this.#legs.set(pair, { A: a, B: b });
      this.#listen(a);
      this.#listen(b);
      bound.push({ pair, portA: socketA.address().port, portB: socketB.address().port });
    }
    return bound;
  }

  /**
   * The `remote` command: connects the leg to its peer. False when refused at
   * once (unknown pair, or the leg already has a peer); a connect that fails
   * later is counted in `refused_peers` as well.
   */
  setPeer(pair: number, side: LegSide, address: string, port: number): boolean {
    const leg = this.#legs.get(pair)?.[side];
    if (leg === undefined || leg.peerState !== PeerState.Unknown || this.#closed) {
      this.counters.refused_peers++;
      return false;
    }
    this.#pendingConnects++;
    this.#connect(leg, address, port, (ok) => {
      if (!ok) this.counters.refused_peers++;
      if (--this.#pendingConnects === 0) for (const resolve of this.#settledWaiters.splice(0)) resolve();
    });
    return true;
  }

  /** Resolves once every `setPeer` so far has connected or failed: a stats answer after it reflects them. */
  settled(): Promise<void> {
    if (this.#pendingConnects === 0) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /** Closes every socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { A, B } of this.#legs.values()) {
      for (const leg of [A, B]) {
        leg.socket.removeAllListeners('message');
        try {
          leg.socket.close();
        } catch {
          // Already closed: nothing left to release.
        }
      }
    }
    for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }

  #bindSocket(pair: number, offset: 0 | 1): Promise<dgram.Socket> {
    const { bindAddress, basePort, socketBufferBytes } = this.#options;
    // Sized like relay.c's sockets; the kernel caps them at net.core.rmem_max / wmem_max.
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: socketBufferBytes, sendBufferSize: socketBufferBytes });
    const port = basePort === 0 ? 0 : basePort + 2 * pair + offset;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`bind ${bindAddress}:${port}: ${err.message}`));
      socket.once('error', onError);
      socket.bind({ port, address: bindAddress, exclusive: true }, () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  }

  #listen(leg: RelayLeg): void {
    // One closure per leg, made once: the receive path itself allocates nothing.
    leg.socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.#relay(leg, msg, rinfo));
    // ICMP errors from a peer that went away surface here on a connected socket.
    leg.socket.on('error', () => this.counters.socket_errors++);
  }

  #relay(leg: RelayLeg, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const c = this.counters;
    c.rx_packets++;
    const state = leg.peerState;
    if (state === PeerState.Connecting) {
      // Until connect() completes the kernel delivers from anyone: the source is not known to be the peer.
      c.dropped.FOREIGN_SOURCE++;
      return;
    }
    const other = leg.other;
    const length = this.#rewriter.rewrite(msg, other.packetizer);
    if (typeof length !== 'number') {
      c.dropped[length]++;
      return;
    }
    // Latch on the first valid packet, as relay.c and Tandem's RtpLeg do.
    if (state === PeerState.Unknown) this.#connect(leg, rinfo.address, rinfo.port, null);
    if (other.peerState !== PeerState.Ready) {
      c.tx_no_peer++;
      return;
    }
    try {
      // A whole datagram skips dgram's per-call slice (one allocation less per packet).
      if (length === msg.length) other.socket.send(msg);
      else other.socket.send(msg, 0, length);
      c.tx_packets++;
    } catch {
      // Only synchronous failures show here: without a per-packet callback, which
      // Tandem's RtpLeg does not pay for either, dgram drops asynchronous send errors.
      c.tx_errors++;
    }
  }

  #connect(leg: RelayLeg, address: string, port: number, done: ((ok: boolean) => void) | null): void {
    leg.peerState = PeerState.Connecting;
    // @types/node declares no argument, but dgram passes the error when connect fails.
    const finish = (err?: Error): void => {
      if (this.#closed) return done?.(false);
      leg.peerState = err ? PeerState.Unknown : PeerState.Ready;
      done?.(!err);
    };
    try {
      leg.socket.connect(port, address, finish);
    } catch (err) {
      finish(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
