import type { FastifyInstance } from 'fastify';
import type { PresenceChange, PresenceStore } from '../realtime/presence-store.js';

/** Where presence changes come from (the AMI PresenceTracker is one). */
export interface PresenceFeed {
  on(event: 'presence', listener: (change: PresenceChange) => void): unknown;
  off(event: 'presence', listener: (change: PresenceChange) => void): unknown;
}

export interface PresenceRoutesOptions {
  feed: PresenceFeed;
  store: PresenceStore;
  /** Comment lines keep idle proxies and clients from closing the stream. */
  heartbeatMs?: number;
}

/**
 * Presence for dashboards: the current status of every extension, and a
 * Server-Sent Events stream of every change as the AMI listener applies it.
 */
export function registerPresenceRoutes(app: FastifyInstance, options: PresenceRoutesOptions): void {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const open = new Set<() => void>();
  // Streams never end on their own: end them when the API closes, or close() would wait forever.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/v1/presence', async () => {
    const statuses = await options.store.statuses();
    return { extensions: [...statuses].map(([number, status]) => ({ number, status })) };
  });

  app.get('/v1/presence/stream', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': tandem presence stream\n\n');
    let id = 0;
    const onChange = (change: PresenceChange): void => {
      const data = JSON.stringify({ ...change, at: change.at.toISOString() });
      res.write(`id: ${++id}\nevent: presence\ndata: ${data}\n\n`);
    };
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    const stop = (): void => {
      clearInterval(heartbeat);
      options.feed.off('presence', onChange);
      open.delete(end);
    };
    const end = (): void => {
      stop();
      res.end();
    };
    open.add(end);
    options.feed.on('presence', onChange);
    request.raw.on('close', stop);
    res.on('error', stop);
  });
}
