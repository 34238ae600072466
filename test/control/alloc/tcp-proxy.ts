import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy to Redis that a test can cut and restore, to play an outage. */
export class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  #refusing = false;
  port = 0;
  /** Connections reset while refusing: each is one reconnect attempt a client made. */
  refused = 0;

  constructor(readonly targetPort: number) {}

  /**
   * While refusing, every connection is reset as soon as it is accepted, and
   * the live ones are dropped: an outage whose reconnect attempts can be counted.
   */
  setRefusing(refusing: boolean): void {
    this.#refusing = refusing;
    if (refusing) for (const s of this.#sockets) s.destroy();
  }

  async start(port = this.port): Promise<void> {
    const server = createServer((client) => {
      if (this.#refusing) {
        this.refused++;
        client.on('error', () => undefined);
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.once('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.port = address.port;
    this.#server = server;
  }

  /** Drops every connection and stops listening. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
