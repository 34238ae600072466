import type dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../common/logger.js';
import type { Codec } from '../codec/index.js';
import { JitterBuffer } from '../jitter/index.js';
import { RtpPacketView, RtpPacketizer } from '../rtp/index.js';
import type { RtpParseErrorCode } from '../rtp/index.js';
import type { LegName, LegStats, UdpEndpoint } from '../worker/protocol.js';
import type { MediaLeg } from './media-leg.js';
import { PcmRateConverter } from './pcm-rate-converter.js';

/** Why a datagram never reached the jitter buffer. Parse error codes plus our own. */
export type LegDropReason = RtpParseErrorCode | 'FOREIGN_SOURCE' | 'PAYLOAD_TYPE';

const RTP_HEADER_BYTES = 12;
/**
 * Send buffers rotate so a datagram that libuv had to queue (EAGAIN) is never
 * overwritten by the next tick before it leaves: four ticks is 80 ms of slack.
 */
const SEND_RING = 4;

export interface RtpLegOptions {
  pairId: string;
  name: LegName;
  ext: string;
  codec: Codec;
  socket: dgram.Socket;
  jitter: { minDepthMs: number; maxDepthMs: number; playoutSlackMs: number };
  remote?: UdpEndpoint | undefined;
  log: Logger;
}

/**
 * One externalMedia leg: a UDP socket that receives Asterisk's RTP for this leg
 * and sends the injected stream back to the same peer (Asterisk's
 * UNICASTRTP_LOCAL_ADDRESS:PORT). Once the peer is known the socket is
 * connected, so the kernel drops datagrams from anyone else and `send` needs
 * no address (the cheapest dgram path, PERF-FACTS.md).
 *
 * The receive handler never throws: every bad datagram is counted by reason.
 */
export class RtpLeg implements MediaLeg {
  readonly transport = 'rtp' as const;
  readonly name: LegName;
  readonly ext: string;
  readonly codec: Codec;
  readonly jitter: JitterBuffer;

  readonly #pairId: string;
  readonly #socket: dgram.Socket;
  readonly #log: Logger;
  readonly #view = new RtpPacketView();
  readonly #packetizer: RtpPacketizer;
  readonly #sendRing: Buffer[];
  #sendIndex = 0;
  readonly #local: UdpEndpoint;
  #remote: UdpEndpoint | null = null;
  #connected = false;
  #connectGeneration = 0;
  #closed = false;
  #sending = false;
  readonly #rateConverter: PcmRateConverter;

  /** performance.now() of the last packet accepted into the jitter buffer (NaN before any). */
  lastArrivalMs = Number.NaN;
  /** Called after each packet reaches the jitter buffer: the direction's early reader (see JitterBuffer.readEarly). */
  onStored: (() => void) | null = null;
  #rxPackets = 0;
  #rxBytes = 0;
  readonly #rxDropped: Record<string, number> = {};
  #txPackets = 0;
  #txBytes = 0;
  #txErrors = 0;
  #txSkippedNotConnected = 0;
  #socketErrors = 0;
  #earlyReaderErrors = 0;

  constructor(options: RtpLegOptions) {
    this.name = options.name;
    this.ext = options.ext;
    this.codec = options.codec;
    this.#pairId = options.pairId;
    this.#socket = options.socket;
    this.#log = options.log;
    const address = this.#socket.address();
    this.#local = { address: address.address, port: address.port };
    this.jitter = new JitterBuffer(this.codec.decode, {
      clockRate: this.codec.sampleRate,
      frameSamples: this.codec.frameSamples,
      minDepthMs: options.jitter.minDepthMs,
      maxDepthMs: options.jitter.maxDepthMs,
      playoutSlackMs: options.jitter.playoutSlackMs,
    });
    this.#packetizer = new RtpPacketizer({ payloadType: this.codec.payloadType });
    this.#rateConverter = new PcmRateConverter(this.codec.sampleRate, this.codec.frameSamples);
    this.#sendRing = Array.from({ length: SEND_RING }, () => Buffer.alloc(RTP_HEADER_BYTES + this.codec.frameBytes));
    this.#socket.on('message', this.#onMessage);
    this.#socket.on('error', this.#onError);
    if (options.remote) this.setRemote(options.remote);
  }

  get local(): UdpEndpoint {
    return this.#local;
  }

  get remote(): UdpEndpoint | null {
    return this.#remote;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get openTransports(): number {
    return this.#closed ? 0 : 1;
  }

  /**
   * Points the leg at Asterisk's side of this externalMedia channel. Called with
   * UNICASTRTP_LOCAL_ADDRESS/PORT from the ARI response, or by latching onto the
   * first valid packet when the control plane has not said yet.
   */
  setRemote(remote: UdpEndpoint): void {
    if (this.#closed) return;
    if (this.#remote && this.#remote.address === remote.address && this.#remote.port === remote.port) return;
    if (this.#connected) {
      this.#socket.disconnect();
      this.#connected = false;
    }
    this.#remote = { address: remote.address, port: remote.port };
    const generation = ++this.#connectGeneration;
    this.#socket.connect(remote.port, remote.address, () => {
      // A later setRemote (or close) supersedes this connect.
      if (generation === this.#connectGeneration && !this.#closed) this.#connected = true;
    });
  }

  /**
   * Encodes one PCM frame in this leg's format and sends it to Asterisk.
   * Resamples when the frame's rate differs from the leg's (8 kHz <-> 16 kHz).
   */
  sendPcm(pcm: Int16Array, samples: number, sampleRate: number): void {
    if (this.#closed) return;
    if (!this.#connected) {
      this.#txSkippedNotConnected++;
      return;
    }
    let source = pcm;
    let count = samples;
    if (sampleRate !== this.codec.sampleRate) {
      const converted = this.#rateConverter.convert(pcm, samples, sampleRate);
      if (converted === null) {
        this.#countDrop('PAYLOAD_TYPE');
        return;
      }
      source = converted.pcm;
      count = converted.samples;
    }
    if (!this.#sending) {
      this.#packetizer.startTalkspurt();
      this.#sending = true;
    }
    const buffer = this.#sendRing[this.#sendIndex] as Buffer;
    this.#sendIndex = (this.#sendIndex + 1) % SEND_RING;
    const payloadBytes = this.codec.encode(source, count, buffer, RTP_HEADER_BYTES);
    this.#packetizer.writeHeader(buffer, count);
    const length = RTP_HEADER_BYTES + payloadBytes;
    try {
      // A whole buffer skips dgram's per-call slice (one allocation less per packet).
      if (length === buffer.length) this.#socket.send(buffer);
      else this.#socket.send(buffer, 0, length);
      this.#txPackets++;
      this.#txBytes += length;
    } catch (err) {
      this.#txErrors++;
      this.#logSocketError(err);
    }
  }

  /** A tick with nothing to send: RTP time still advances, and the next packet opens a talkspurt. */
  idleTick(): void {
    if (!this.#sending) return;
    this.#packetizer.skip(this.codec.frameSamples);
  }

  stats(): LegStats {
    const j = this.jitter.stats;
    return {
      transport: 'rtp',
      local: { ...this.#local },
      remote: this.#remote ? { ...this.#remote } : null,
      connected: this.#connected,
      rxPackets: this.#rxPackets,
      rxBytes: this.#rxBytes,
      rxDropped: { ...this.#rxDropped },
      txPackets: this.#txPackets,
      txBytes: this.#txBytes,
      txErrors: this.#txErrors,
      txSkippedNotConnected: this.#txSkippedNotConnected,
      jitter: { ...j },
      latencyFirst: this.jitter.latencyFirst,
      earlyReading: this.jitter.earlyReading,
      earlyReaderErrors: this.#earlyReaderErrors,
    };
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connectGeneration++;
    this.#socket.off('message', this.#onMessage);
    // Keep an error listener: a late ICMP error must not become an uncaught exception.
    try {
      this.#socket.close();
    } catch {
      // Already closed by the runtime (worker teardown): nothing left to release.
    }
    this.jitter.reset();
  }

  readonly #onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.#rxPackets++;
    this.#rxBytes += msg.length;
    // Until connect() completes the kernel still delivers from anyone.
    const remote = this.#remote;
    if (remote !== null && !this.#connected && (rinfo.port !== remote.port || rinfo.address !== remote.address)) {
      this.#countDrop('FOREIGN_SOURCE');
      return;
    }
    const view = this.#view;
    const error = view.tryParse(msg);
    if (error !== null) {
      this.#countDrop(error);
      return;
    }
    if (view.payloadType !== this.codec.payloadType) {
      this.#countDrop('PAYLOAD_TYPE');
      return;
    }
    if (remote === null) {
      this.#log.info({ pairId: this.#pairId, leg: this.name, remote: `${rinfo.address}:${rinfo.port}` }, 'leg peer latched');
      this.setRemote({ address: rinfo.address, port: rinfo.port });
    }
    const now = performance.now();
    this.lastArrivalMs = now;
    this.jitter.push(view, now);
    if (this.onStored !== null) this.#notifyStored(this.onStored);
  };

  #notifyStored(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      const n = ++this.#earlyReaderErrors;
      if ((n & (n - 1)) === 0) this.#log.error({ pairId: this.#pairId, leg: this.name, err: err instanceof Error ? err.message : String(err), count: n }, 'early reader failed');
    }
  }

  readonly #onError = (err: Error): void => {
    this.#socketErrors++;
    this.#logSocketError(err);
  };

  #countDrop(reason: LegDropReason): void {
    this.#rxDropped[reason] = (this.#rxDropped[reason] ?? 0) + 1;
  }

  #logSocketError(err: unknown): void {
    // Power-of-two sampling: the first errors are visible, a flood is not a log flood.
    const n = this.#socketErrors + this.#txErrors;
    if ((n & (n - 1)) !== 0) return;
    // ICMP port unreachable from Asterisk's side: normal while a channel is torn down first.
    const refused = (err as { code?: unknown } | null)?.code === 'ECONNREFUSED';
    const fields = { pairId: this.#pairId, leg: this.name, err: err instanceof Error ? err.message : String(err), count: n };
    if (refused) this.#log.debug(fields, 'leg peer unreachable');
    else this.#log.warn(fields, 'leg socket error');
  }
}
