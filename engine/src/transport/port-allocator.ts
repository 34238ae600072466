import dgram from 'node:dgram';
import { EngineError } from '../session/errors.js';
import type { DatagramIo, DatagramPort } from './datagram/datagram-port.js';
import { openDatagramPort } from './datagram/open-datagram-port.js';

/**
 * Binds UDP sockets inside this shard's share of the configured port range.
 * Shards take interleaved ports (min + shard, min + shard + shardCount, ...), so
 * two workers never race for the same port; a port taken by someone else is
 * skipped and the cursor moves on, so a busy range costs one failed bind each.
 */
export interface PortAllocatorOptions {
  bindAddress: string;
  min: number;
  max: number;
  shard: number;
  shardCount: number;
  socketBufferBytes: number;
}

export class PortAllocator {
  readonly #options: PortAllocatorOptions;
  readonly #slots: number;
  #cursor = 0;

  constructor(options: PortAllocatorOptions) {
    this.#options = options;
    const span = options.max - options.min + 1;
    this.#slots = Math.max(0, Math.ceil((span - options.shard) / options.shardCount));
  }

  /** Binds a socket on the next free port of this shard's share. */
  async bind(): Promise<dgram.Socket> {
    return await this.bindWith((port) => this.#tryBind(port));
  }

  /**
   * Binds a batched datagram port (the worker's shared RTP port) on the next
   * free port of this shard's share, with the given implementation.
   */
  async bindDatagramPort(io: DatagramIo, batch: number, bufferBytes = this.#options.socketBufferBytes): Promise<DatagramPort> {
    return await this.bindWith(async (port) => {
      try {
        return await openDatagramPort({
          address: this.#options.bindAddress,
          port,
          io,
          batch,
          recvBufferSize: bufferBytes,
          sendBufferSize: bufferBytes,
        });
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (code === 'EADDRINUSE' || code === 'EACCES') return null;
        throw err;
      }
    });
  }

  /** `tryBind(port)` on each port of the share from the cursor on, until one answers (null: taken, try the next). */
  async bindWith<T>(tryBind: (port: number) => Promise<T | null>): Promise<T> {
    const { min, max, shard, shardCount } = this.#options;
    for (let attempt = 0; attempt < this.#slots; attempt++) {
      const slot = (this.#cursor + attempt) % this.#slots;
      const port = min + shard + slot * shardCount;
      if (port > max) continue;
      const socket = await tryBind(port);
      if (socket !== null) {
        this.#cursor = (slot + 1) % this.#slots;
        return socket;
      }
    }
    throw new EngineError(
      'PORT_RANGE_EXHAUSTED',
      `no free UDP port in ${min}-${max} for shard ${shard} on ${this.#options.bindAddress}`,
    );
  }

  #tryBind(port: number): Promise<dgram.Socket | null> {
    const type = this.#options.bindAddress.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({
      type,
      recvBufferSize: this.#options.socketBufferBytes,
      sendBufferSize: this.#options.socketBufferBytes,
    });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.off('listening', onListening);
        socket.close();
        if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(null);
        else reject(err);
      };
      const onListening = (): void => {
        socket.off('error', onError);
        resolve(socket);
      };
      socket.once('error', onError);
      socket.once('listening', onListening);
      socket.bind({ port, address: this.#options.bindAddress, exclusive: true });
    });
  }
}
