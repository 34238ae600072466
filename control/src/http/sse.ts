import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Sends one event on a Server-Sent Events stream (`id:` numbered per stream from 1). */
export type SseSend = (event: string, data: string) => void;

export interface SseOptions {
  /** Comment line sent first, so the client sees the stream open before any event. */
  banner: string;
  /** Comment lines keep idle proxies and clients from closing the stream. */
  heartbeatMs: number;
  /** A client this many bytes behind is disconnected; default: no limit. */
  maxBufferedBytes?: number | undefined;
  /** Told how far behind a client was when it is disconnected for it. */
  onSlowClient?: ((bufferedBytes: number) => void) | undefined;
  /** Starts feeding the stream; returns what stops it, called once when the stream ends for any reason. */
  subscribe: (send: SseSend) => () => void;
}

/** Opens an SSE response on a route's request, taking over the reply. */
export type SseOpener = (request: FastifyRequest, reply: FastifyReply, options: SseOptions) => void;

/**
 * Server-Sent Events for an app's routes. Streams never end on their own, so
 * those still open are ended when the app closes, or close() would wait for
 * them forever. A stream ends when the client goes, the response fails, the
 * client falls maxBufferedBytes behind, or the app closes.
 */
export function sseStreams(app: FastifyInstance): SseOpener {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  return (request, reply, options) => {
    const limit = options.maxBufferedBytes ?? Infinity;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`: ${options.banner}\n\n`);
    let stopped = false;
    let unsubscribe: (() => void) | null = null;
    const write = (chunk: string): void => {
      if (stopped) return;
      // A client that stopped reading would otherwise buffer every event for as long as it stays connected.
      if (res.writableLength > limit) {
        options.onSlowClient?.(res.writableLength);
        end();
        return;
      }
      res.write(chunk);
    };
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), options.heartbeatMs);
    heartbeat.unref();
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      unsubscribe?.();
      open.delete(end);
    };
    const end = (): void => {
      if (stopped) return;
      stop();
      res.end();
    };
    open.add(end);
    let id = 0;
    unsubscribe = options.subscribe((event, data) => write(`id: ${++id}\nevent: ${event}\ndata: ${data}\n\n`));
    request.raw.on('close', stop);
    res.on('error', stop);
  };
}
