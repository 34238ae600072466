import { RtpPacketizer } from '../../../engine/src/rtp/index.js';
import { datagramPeer, DatagramIoResolver, SourceDemux, type DatagramIo, type DatagramPeer, type DatagramPort, type ReceivedBatch } from '../../../engine/src/transport/datagram/index.js';
import { emptyCounters, type LegSide, type RelayCounters } from './node-relay-protocol.js';
import { RelayRewriter } from './node-relay-rewrite.js';

const PCMU_PAYLOAD_TYPE = 0;
/** As relay.c's MAX_DATAGRAM: larger datagrams are not RTP this relay handles. */
const MAX_DATAGRAM = 2048;

interface BatchShardOptions {
  pairs: readonly number[];
  bindAddress: string;
  /** 0: a kernel-chosen port; otherwise this worker's port (relay.c mmsg: base + thread). */
  port: number;
  socketBufferBytes: number;
  io: DatagramIo;
  batch: number;
}

/** One leg: its peer once told (`remote`), and the packetizer of the stream it sends. */
class BatchLeg {
  peer: DatagramPeer | null = null;
  other: BatchLeg = this;
  readonly packetizer = new RtpPacketizer({ payloadType: PCMU_PAYLOAD_TYPE });

  constructor(
    readonly pair: number,
    readonly side: LegSide,
  ) {}
}

/**
 * The pairs one worker thread owns, relayed the way relay.c's mmsg mode does:
 * one DatagramPort per thread (the udp_batch addon, or node:dgram) shared by
 * every leg of its pairs; a datagram's leg is found by its source address
 * (SourceDemux), foreign sources are dropped and counted; each received batch
 * is rewritten in place (node-relay-rewrite.ts), queued, and sent with one
 * flush. As in relay.c's mmsg mode, peers are told (`remote`), never latched.
 */
export class BatchRelayShard {
  readonly #counters: RelayCounters = emptyCounters();
  readonly #legs = new Map<number, { A: BatchLeg; B: BatchLeg }>();
  readonly #demux = new SourceDemux<BatchLeg>();
  readonly #rewriter = new RelayRewriter();
  readonly #options: BatchShardOptions;
  #port: DatagramPort | null = null;
  #closed = false;

  constructor(options: BatchShardOptions) {
    this.#options = options;
    for (const pair of options.pairs) {
      const a = new BatchLeg(pair, 'A');
      const b = new BatchLeg(pair, 'B');
      a.other = b;
      b.other = a;
      this.#legs.set(pair, { A: a, B: b });
    }
  }

  /** Relay counters with the port's own: what it sent, and what the kernel refused. */
  get counters(): RelayCounters {
    const c = structuredClone(this.#counters);
    if (this.#port !== null) {
      const s = this.#port.stats();
      c.tx_packets = s.txPackets;
      c.tx_errors = s.txWouldBlock + s.txErrors;
      c.rx_batches = s.rxBatches;
      c.tx_batches = s.txBatches;
      c.socket_errors += s.rxErrors + s.rxTruncated;
    }
    return c;
  }

  /** Binds the thread's port; every pair's two legs are on it. */
  async bind(): Promise<Array<{ pair: number; portA: number; portB: number }>> {
    const o = this.#options;
    const resolver = new DatagramIoResolver();
    const port = await resolver.open({
      address: o.bindAddress,
      port: o.port,
      io: o.io,
      batch: o.batch,
      maxDatagram: MAX_DATAGRAM,
      recvBufferSize: o.socketBufferBytes,
      sendBufferSize: o.socketBufferBytes,
    });
    this.#port = port;
    port.onBatch(this.#onBatch);
    return o.pairs.map((pair) => ({ pair, portA: port.local.port, portB: port.local.port }));
  }

  /** The `remote` command. False (counted) when the pair is unknown, the leg has a peer, or another leg has this one. */
  setPeer(pair: number, side: LegSide, address: string, port: number): boolean {
    const leg = this.#legs.get(pair)?.[side];
    if (leg === undefined || leg.peer !== null || this.#closed) {
      this.#counters.refused_peers++;
      return false;
    }
    const peer = datagramPeer(address, port);
    if (!this.#demux.add(peer, leg)) {
      this.#counters.refused_peers++;
      return false;
    }
    leg.peer = peer;
    return true;
  }

  settled(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port?.close();
  }

  readonly #onBatch = (batch: ReceivedBatch): void => {
    const c = this.#counters;
    const port = this.#port as DatagramPort;
    const count = batch.count;
    c.rx_packets += count;
    for (let i = 0; i < count; i++) {
      const leg = this.#demux.get(batch.sourceIpv4(i), batch.sourcePort(i));
      if (leg === undefined) {
        c.dropped.FOREIGN_SOURCE++;
        continue;
      }
      if (batch.truncated(i)) continue; // counted by the port (rxTruncated)
      const datagram = batch.view(i);
      const other = leg.other;
      const length = this.#rewriter.rewrite(datagram, other.packetizer, batch.length(i));
      if (typeof length !== 'number') {
        c.dropped[length]++;
        continue;
      }
      if (other.peer === null) {
        c.tx_no_peer++;
        continue;
      }
      port.send(datagram, 0, length, other.peer);
    }
    port.flush();
  };
}
