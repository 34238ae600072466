import dgram from 'node:dgram';

/**
 * A generator core's UDP sockets, one per stream (stream s plays one leg's
 * Asterisk side): bound on an ephemeral port, connected to the engine's leg,
 * so sends carry no address. Owns them and closes them all, idempotently.
 */
export class CoreSockets {
  readonly #sockets: Array<dgram.Socket | null>;
  readonly #bufferBytes: number;
  readonly #bindAddress: string;
  readonly #onError: () => void;

  /** `onError`: a socket error after setup (ICMP after the engine closed a leg, mostly): counted by the caller, never fatal. */
  constructor(options: { streams: number; bufferBytes: number; bindAddress: string; onError: () => void }) {
    this.#sockets = new Array<dgram.Socket | null>(options.streams).fill(null);
    this.#bufferBytes = options.bufferBytes;
    this.#bindAddress = options.bindAddress;
    this.#onError = options.onError;
  }

  /** Opens stream s's socket towards `remote`; resolves with its local port. */
  open(s: number, remote: { address: string; port: number }, onMessage: (msg: Buffer) => void): Promise<number> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: this.#bufferBytes, sendBufferSize: this.#bufferBytes });
    this.#sockets[s] = socket;
    socket.on('error', this.#onError);
    socket.on('message', onMessage);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: this.#bindAddress }, () => {
        socket.connect(remote.port, remote.address, () => {
          socket.off('error', reject);
          resolve(socket.address().port);
        });
      });
    });
  }

  /** Sends on stream s's connected socket; false when it has none. */
  send(s: number, packet: Buffer): boolean {
    const socket = this.#sockets[s];
    if (socket === null || socket === undefined) return false;
    socket.send(packet);
    return true;
  }

  close(): void {
    for (let s = 0; s < this.#sockets.length; s++) {
      const socket = this.#sockets[s];
      this.#sockets[s] = null;
      if (socket === null || socket === undefined) continue;
      try {
        socket.close();
      } catch {
        // Already closed (bind failed half-way): nothing left to release.
      }
    }
  }
}
