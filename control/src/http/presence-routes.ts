import type { FastifyInstance } from 'fastify';
import type { PresenceChange, PresenceStore } from '../realtime/presence-store.js';
import { errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { ApiError } from './errors.js';
import { sseStreams } from './sse.js';

const log = logger('control.http.presence');

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
  const openStream = sseStreams(app);

  app.get('/v1/presence', async () => {
    let statuses;
    try {
      statuses = await options.store.statuses();
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'reading presence failed');
      throw new ApiError(503, 'PRESENCE_UNAVAILABLE', 'the presence database is not answering');
    }
    return { extensions: [...statuses].map(([number, status]) => ({ number, status })) };
  });

  app.get('/v1/presence/stream', (request, reply) => {
    openStream(request, reply, {
      banner: 'tandem presence stream',
      heartbeatMs,
      subscribe: (send) => {
        const onChange = (change: PresenceChange): void => send('presence', JSON.stringify({ ...change, at: change.at.toISOString() }));
        options.feed.on('presence', onChange);
        return () => options.feed.off('presence', onChange);
      },
    });
  });
}
