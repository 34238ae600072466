import { performance } from 'node:perf_hooks';
import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { Codec } from '../codec/index.js';
import { JitterBuffer } from '../jitter/index.js';
import { RtpPacketView, RtpPacketizer } from '../rtp/index.js';
import type { LegDropReason, LegName, LegStats, UdpEndpoint } from '../worker/protocol.js';
import type { LegSocket } from './leg-socket.js';
import type { MediaLeg } from './media-leg.js';
import { PcmRateConverter } from './pcm-rate-converter.js';
import { SourceLearner } from './source-learner.js';

export type { LegDropReason } from '../worker/protocol.js';

const RTP_HEADER_BYTES = 12;

export interface RtpLegOptions {
  pairId: string;
  name: LegName;
  ext: string;
  codec: Codec;
  /** The leg's way to the network: a socket of its own (DgramLegSocket) or a share of its worker's batched port (SharedLegSocket). */
  socket: LegSocket;
  jitter: { minDepthMs: number; maxDepthMs: number; playoutSlackMs: number };
  /** Strict RTP: consecutive packets a new source must send before the leg accepts it (default 4, as Asterisk). */
  probationPackets?: number;
  /** May the leg, while it has no remote, latch onto a source that passed probation? Default false. */
  latch?: boolean;
  log: Logger;
}

export type RtpLegEvents = {
  /** The socket is connected to `remote`: set by setRemote, or `latched` onto a source that passed probation. */
  connected: [remote: UdpEndpoint, latched: boolean];
  listenererror: [event: string, error: unknown];
};

const DEFAULT_PROBATION_PACKETS = 4;

function sameEndpoint(a: UdpEndpoint | null, b: UdpEndpoint | null): boolean {
  return a !== null && b !== null && a.port === b.port && a.address === b.address;
}

/**
 * One externalMedia leg: receives Asterisk's RTP for this leg and sends the
 * injected stream back to the same peer (Asterisk's
 * UNICASTRTP_LOCAL_ADDRESS:PORT), through a LegSocket: a UDP socket of its own,
 * connected to the peer once it is known (the kernel drops anyone else), or a
 * share of the worker's batched port that routes only the peer's datagrams
 * here. Either way, once connected, only the peer is heard.
 *
 * Which stream it listens to is strict RTP (SourceLearner): the first SSRC from
 * the peer the control plane named is accepted; another SSRC, even from that
 * exact address and port, must pass probation first. A leg with no peer yet
 * hears nobody, unless it may latch: then the first source to pass probation
 * becomes its peer. Connects are serialized (one at a time, the last address
 * wins), so setRemote may come at any moment, even during a latch's connect.
 *
 * The receive handler never throws: every bad datagram is counted by reason.
 */
export class RtpLeg extends TypedEmitter<RtpLegEvents> implements MediaLeg {
  readonly transport = 'rtp' as const;
  readonly name: LegName;
  readonly ext: string;
  readonly codec: Codec;
  readonly jitter: JitterBuffer;

  readonly #pairId: string;
  readonly #socket: LegSocket;
  readonly #log: Logger;
  readonly #view = new RtpPacketView();
  readonly #packetizer: RtpPacketizer;
  readonly #local: UdpEndpoint;
  readonly #latch: boolean;
  readonly #learner: SourceLearner;
  /** Where the leg listens and sends: the last setRemote, or the latched source. */
  #remote: UdpEndpoint | null = null;
  /** #remote is a source the leg latched onto, not one the control plane gave. */
  #remoteLatched = false;
  /** The socket is connected to #remote (not to an earlier one, not on its way). */
  #connected = false;
  /** Where the socket is connected, whatever #remote says now. */
  #connectedTo: UdpEndpoint | null = null;
  /** Connects run one at a time, in call order (dgram throws on connect() while one is pending). */
  #connects: Promise<void> = Promise.resolve();
  /** Fails the connect in flight: a socket closed meanwhile never calls connect()'s callback. */
  #abortConnect: ((err: Error) => void) | null = null;
  #closed = false;
  #sending = false;
  readonly #rateConverter: PcmRateConverter;

  /** performance.now() of the last packet accepted into the jitter buffer (NaN before any). */
  lastArrivalMs = Number.NaN;
  /** Called after each packet reaches the jitter buffer: the direction's early reader (see JitterBuffer.readEarly). */
  onStored: (() => void) | null = null;
  #rxPackets = 0;
  #rxBytes = 0;
  readonly #rxDropped: Partial<Record<LegDropReason, number>> = {};
  #txPackets = 0;
  #txBytes = 0;
  #txErrors = 0;
  #txSkippedNotConnected = 0;
  #socketErrors = 0;
  #earlyReaderErrors = 0;

  constructor(options: RtpLegOptions) {
    super();
    this.name = options.name;
    this.ext = options.ext;
    this.codec = options.codec;
    this.#pairId = options.pairId;
    this.#socket = options.socket;
    this.#log = options.log;
    this.#local = { ...this.#socket.local };
    this.jitter = new JitterBuffer(this.codec.decode, {
      clockRate: this.codec.sampleRate,
      frameSamples: this.codec.frameSamples,
      minDepthMs: options.jitter.minDepthMs,
      maxDepthMs: options.jitter.maxDepthMs,
      playoutSlackMs: options.jitter.playoutSlackMs,
    });
    this.#packetizer = new RtpPacketizer({ payloadType: this.codec.payloadType });
    this.#rateConverter = new PcmRateConverter(this.codec.sampleRate, this.codec.frameSamples);
    this.#latch = options.latch ?? false;
    this.#learner = new SourceLearner({ packets: options.probationPackets ?? DEFAULT_PROBATION_PACKETS });
    this.#socket.start(this.#onDatagram, this.#onError);
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

  /** True when the socket is connected to the leg's remote. */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Points the leg at Asterisk's side of this externalMedia channel
   * (UNICASTRTP_LOCAL_ADDRESS/PORT from the ARI response). From now on only
   * that address is heard; its first SSRC is accepted at once. Resolves when
   * the socket is connected to the leg's remote (this one, or a later call's);
   * the same remote again is a no-op. Safe at any time, also while an earlier
   * connect (a latch) is still pending. Rejects with InvalidStateError if the
   * leg closes first, or with the socket's error if connect() fails.
   */
  setRemote(remote: UdpEndpoint): Promise<void> {
    if (this.#closed) return Promise.reject(new InvalidStateError(`leg ${this.name} of ${this.#pairId} is closed`));
    if (!sameEndpoint(this.#remote, remote)) this.#learner.restart(true);
    return this.#retarget(remote, false);
  }

  /** Sets #remote and queues a connect to it. */
  #retarget(remote: UdpEndpoint, latched: boolean): Promise<void> {
    if (!sameEndpoint(this.#remote, remote)) {
      this.#remote = { address: remote.address, port: remote.port };
      this.#remoteLatched = latched;
      this.#connected = false;
    }
    const step = this.#connects.then(() => this.#connectToRemote());
    // The chain goes on after a failure; the caller of this step gets the error.
    this.#connects = step.catch(() => undefined);
    return step;
  }

  /** Connects the socket to #remote; goes round again if a later call moved #remote meanwhile. */
  async #connectToRemote(): Promise<void> {
    for (;;) {
      if (this.#closed) throw new InvalidStateError(`leg ${this.name} of ${this.#pairId} closed before it connected`);
      const target = this.#remote;
      if (target === null) return;
      if (sameEndpoint(this.#connectedTo, target)) {
        if (!this.#connected) {
          this.#connected = true;
          this.safeEmit('connected', { ...target }, this.#remoteLatched);
        }
        return;
      }
      if (this.#connectedTo !== null) {
        this.#socket.disconnect();
        this.#connectedTo = null;
      }
      await this.#connect(target);
      if (this.#closed) throw new InvalidStateError(`leg ${this.name} of ${this.#pairId} closed before it connected`);
      this.#connectedTo = target;
    }
  }

  #connect(target: UdpEndpoint): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#abortConnect = reject;
      const done = (err?: Error): void => {
        this.#abortConnect = null;
        if (err) reject(err);
        else resolve();
      };
      this.#socket.connect(target).then(
        () => done(),
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
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
    try {
      const buffer = this.#socket.sendBuffer(RTP_HEADER_BYTES + this.codec.frameBytes);
      const payloadBytes = this.codec.encode(source, count, buffer, RTP_HEADER_BYTES);
      this.#packetizer.writeHeader(buffer, count);
      const length = RTP_HEADER_BYTES + payloadBytes;
      this.#socket.send(buffer, length);
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
      latch: this.#latch,
      ssrc: this.#learner.ssrc,
      sourceSwitches: this.#learner.switches,
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

  /** Closes the socket, or releases the leg's share of a shared one (a pending setRemote rejects). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    const abort = this.#abortConnect;
    this.#abortConnect = null;
    abort?.(new InvalidStateError(`leg ${this.name} of ${this.#pairId} closed before it connected`));
    this.#socket.close();
    this.jitter.reset();
  }

  readonly #onDatagram = (msg: Uint8Array, length: number, address: string, port: number): void => {
    this.#rxPackets++;
    this.#rxBytes += length;
    const remote = this.#remote;
    if (remote === null) {
      if (!this.#latch) {
        this.#countDrop('NO_REMOTE');
        return;
      }
    } else if (!this.#connected && (port !== remote.port || address !== remote.address)) {
      // Until connect() completes the kernel still delivers from anyone.
      this.#countDrop('FOREIGN_SOURCE');
      return;
    }
    const view = this.#view;
    const error = view.tryParse(msg, length);
    if (error !== null) {
      this.#countDrop(error);
      return;
    }
    if (view.payloadType !== this.codec.payloadType) {
      this.#countDrop('PAYLOAD_TYPE');
      return;
    }
    const now = performance.now();
    const verdict = this.#learner.observe(view.ssrc, view.sequenceNumber, now, address, port);
    if (verdict === 'probation') {
      this.#countDrop(remote === null ? 'LATCH_PROBATION' : 'SSRC_PROBATION');
      return;
    }
    if (verdict === 'switch') this.#onSourceSwitch(view.ssrc, address, port, remote === null);
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

  /** A source passed probation: latch onto it (no remote yet), or listen to its SSRC from now on. */
  #onSourceSwitch(ssrc: number, address: string, port: number, latching: boolean): void {
    const fields = { pairId: this.#pairId, leg: this.name, ssrc: ssrc >>> 0, source: `${address}:${port}` };
    if (!latching) {
      this.#log.info({ ...fields, switches: this.#learner.switches }, 'leg source switched after probation');
      return;
    }
    this.#log.info(fields, 'leg peer latched after probation');
    this.#retarget({ address, port }, true).catch((err: unknown) => {
      if (!this.#closed) this.#log.warn({ ...fields, err: errorMessage(err) }, 'connecting to the latched peer failed');
    });
  }

  #countDrop(reason: LegDropReason): void {
    const n = (this.#rxDropped[reason] ?? 0) + 1;
    this.#rxDropped[reason] = n;
    // Someone else's stream on this leg is worth knowing about; sampled, a flood is not a log flood.
    // A real change of SSRC costs a few packets of probation: those stay quiet.
    if ((n & (n - 1)) !== 0) return;
    if (reason === 'NO_REMOTE' || (reason === 'SSRC_PROBATION' && n >= 8)) {
      this.#log.warn({ pairId: this.#pairId, leg: this.name, reason, count: n }, 'leg dropped packets from an unaccepted source');
    }
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
