import type { Logger } from '../../../common/src/logger.js';
import { EngineError } from '../session/errors.js';
import type { PortAllocator } from '../transport/port-allocator.js';
import { SharedRtpPort, type SharedPortStats } from '../transport/shared-rtp-port.js';

/**
 * Datagrams per receive call and per sendmmsg on a shard's shared port: a
 * 20 ms period of 250 pairs is 500 datagrams each way, spread over the
 * scheduler's slots, so a slot's sends fit one call.
 */
const SHARED_PORT_BATCH = 256;

/**
 * The socket buffers a shared port asks for. One port holds what a socket per
 * leg spread over hundreds of buffers: 250 pairs are 25,000 datagrams a second,
 * about 1 KB each in the kernel's accounting, so a stall of the worker for
 * 200 ms fills 4 MB (a 500-pair load test on a starved host overflowed it).
 * The kernel grants at most net.core.rmem_max / wmem_max (docs/batched-io.md).
 */
const SHARED_PORT_BUFFER_BYTES = 32 * 1024 * 1024;

/**
 * A shard's one batched RTP port (native I/O only): bound with the first pair
 * that needs it, closed when its last leg goes, so no socket is held while the
 * shard is idle. Only pair opens go through here; packets go straight to the
 * SharedRtpPort's legs.
 */
export class ShardSharedPort {
  readonly #ports: PortAllocator;
  readonly #bufferBytes: number;
  readonly #log: Logger;
  /** The port while pairs use it (or while it binds). */
  #shared: Promise<SharedRtpPort> | null = null;
  /** The same port once bound, for stats. */
  #sharedOpen: SharedRtpPort | null = null;
  #closed = false;

  constructor(ports: PortAllocator, socketBufferBytes: number, log: Logger) {
    this.#ports = ports;
    this.#bufferBytes = Math.max(socketBufferBytes, SHARED_PORT_BUFFER_BYTES);
    this.#log = log;
  }

  /** The shared port, bound now if no pair holds it. */
  open(): Promise<SharedRtpPort> {
    if (this.#closed) return Promise.reject(new EngineError('ENGINE_CLOSED', 'the shard is closed'));
    if (this.#shared === null) {
      const opening = this.#ports.bindDatagramPort('native', SHARED_PORT_BATCH, this.#bufferBytes).then((port) => new SharedRtpPort(port, this.#log, this.#onIdle));
      this.#shared = opening;
      // A failed bind is retried by the next pair rather than remembered.
      opening.then(
        (port) => {
          if (this.#shared === opening) this.#sharedOpen = port;
          this.#log.info({ io: port.io, local: port.local }, 'shared RTP port open');
        },
        () => {
          if (this.#shared === opening) this.#shared = null;
        },
      );
    }
    return this.#shared;
  }

  /** The bound port's counters; null while none is bound. */
  stats(): SharedPortStats | null {
    return this.#sharedOpen?.stats() ?? null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const shared = this.#shared;
    this.#shared = null;
    this.#sharedOpen = null;
    // A port still binding closes as soon as it is bound.
    void shared?.then((port) => port.close(), () => undefined);
  }

  /** The last leg left the shared port: it closes, and the next pair binds a new one (no socket held while idle). */
  readonly #onIdle = (port: SharedRtpPort): void => {
    if (this.#sharedOpen === port) {
      this.#shared = null;
      this.#sharedOpen = null;
    }
    port.close();
  };
}
