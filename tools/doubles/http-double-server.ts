/**
 * The HTTP server under the REST doubles (Azure Translator, Azure
 * text-to-speech): listens on 127.0.0.1 (an ephemeral port), reads each
 * request's body, hands it to the double, and on close() ends every socket so
 * no test leaks a handle. It also owns the fault switch every REST double
 * has: a fault applies to the next `times` requests (default: all), then the
 * double answers normally again — a 429 once, then success, is a retry test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type HttpFault = 'none' | 'ratelimit' | 'servererror' | 'stall' | 'drop' | 'malformed';

export abstract class HttpDoubleServer {
  /** Requests refused for a wrong or missing key. */
  rejected = 0;
  /** Seconds in the Retry-After of a 429. */
  retryAfterSeconds = 1;
  #fault: HttpFault = 'none';
  #faultsLeft = Infinity;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  protected constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  get url(): string {
    const a = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  /** Sets the fault for the next `times` requests (default: until changed). */
  setFault(fault: HttpFault, times = Infinity): void {
    this.#fault = fault;
    this.#faultsLeft = times;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  protected async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  /** The fault this (authorized) request meets, counting it down. */
  protected takeFault(): HttpFault {
    if (this.#fault === 'none' || this.#faultsLeft <= 0) return 'none';
    if (--this.#faultsLeft <= 0) {
      const f = this.#fault;
      this.#fault = 'none';
      return f;
    }
    return this.#fault;
  }

  /** Answers a JSON body with a status (and extra headers). */
  protected json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
  }

  protected abstract handle(req: IncomingMessage, body: string, res: ServerResponse): void;
}
