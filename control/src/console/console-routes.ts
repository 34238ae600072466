import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogLimiter } from '../../../common/src/log-limiter.js';
import { logger } from '../../../common/src/logger.js';
import type { PairStore } from '../alloc/index.js';
import { acceptAlternativeCredential, PUBLIC_ROUTE } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import type { PresenceFeed } from '../http/presence-routes.js';
import { sseStreams, type SseSend } from '../http/sse.js';
import type { Direction } from '../../../engine/src/index.js';
import type { DirectionEvent } from '../../../engine/src/index.js';
import type { EngineSampler } from '../metrics/engine-sampler.js';
import type { PresenceChange, PresenceStore } from '../realtime/presence-store.js';
import type { TranscriptRecord } from '../transcripts/schema.js';
import { consoleAsset, consoleAssetsDir } from './assets.js';
import { LiveCalls, type AriEventSource, type LiveCall, type LiveCallsApp } from './live-calls.js';
import { NodeStatusProbe } from './node-status.js';
import type { OperatorHolds } from './operator-holds.js';
import { consolePage } from './page.js';
import { ConsoleSessions, cookieValue, SESSION_COOKIE } from './sessions.js';
import { digestEquals } from './token.js';
import { ListenIn, type ListenInOptions, type TapEngine } from './listen/listen-in.js';
import { TAP_SOURCES, type TapSource } from '../../../engine/src/index.js';
import { createHash } from 'node:crypto';

type TranslationListener = (pairId: string, direction: Direction, event: DirectionEvent) => void;

/** What the console reads from a node (TandemNode's parts). */
export interface ConsoleNode {
  app: LiveCallsApp;
  ari: AriEventSource;
  store: PairStore;
  sampler: EngineSampler;
  transcripts: {
    on(event: 'transcript', listener: (record: TranscriptRecord) => void): unknown;
    off(event: 'transcript', listener: (record: TranscriptRecord) => void): unknown;
  };
  engine: TapEngine & {
    on(event: 'translation', listener: TranslationListener): unknown;
    off(event: 'translation', listener: TranslationListener): unknown;
  };
  presence: { feed: PresenceFeed; store: PresenceStore } | null;
  links: () => Promise<Record<string, boolean>>;
  holds: OperatorHolds;
}

export interface ConsoleOptions {
  token: string;
  node: ConsoleNode;
  /** How often live pages get an update (default 1000 ms): the throttle between the engine and the browser. */
  intervalMs?: number;
  /** Where the built front-end is (default: dist/console-web of this package). */
  assetsDir?: string;
  /** Listen-in settings: most listeners at once, ICE servers (default none: host candidates only), the gauge. */
  listen?: Omit<ListenInOptions, 'engine'>;
}

const log = logger('control.console');
const HEARTBEAT_MS = 15_000;
/** A page this far behind (a stalled tab) is disconnected rather than buffered for. */
const MAX_BUFFERED_BYTES = 1 << 20;

const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

/**
 * The operator console (docs/console.md) on the internal API's address: a page
 * and its assets (public: they hold nothing), a login that proves the API token
 * once and gets an HttpOnly SameSite=Strict session cookie, and one throttled
 * Server-Sent Events stream per page. The session cookie also opens the API's
 * GET routes (call records), and its other methods when the request carries
 * `X-Tandem-Console: 1` (a header a cross-site form cannot send).
 */
export function registerConsole(app: FastifyInstance, options: ConsoleOptions): { close(): void } {
  const { node, token } = options;
  const sessions = new ConsoleSessions();
  const live = new LiveCalls({ app: node.app, sampler: node.sampler, ari: node.ari, intervalMs: options.intervalMs ?? 1000 });
  const probe = new NodeStatusProbe(node.sampler, node.links);
  const openStream = sseStreams(app);
  const assetsDir = options.assetsDir ?? consoleAssetsDir();
  const refusals = new LogLimiter(60_000);
  const interval = options.intervalMs ?? 1000;
  const sessionOf = (request: FastifyRequest): string | undefined => cookieValue(request.headers.cookie, SESSION_COOKIE);

  acceptAlternativeCredential(app, (request) => {
    if (!sessions.valid(sessionOf(request))) return false;
    return request.method === 'GET' || request.method === 'HEAD' || request.headers['x-tandem-console'] === '1';
  });
  const listenIn = new ListenIn({ engine: node.engine, ...options.listen });
  app.addHook('onClose', async () => {
    live.close();
    probe.close();
    listenIn.close();
  });

  app.get('/console', { config: PUBLIC_ROUTE }, async (_request, reply) => reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(consolePage()));

  app.get<{ Params: { name: string } }>('/console/assets/:name', { config: PUBLIC_ROUTE }, async (request, reply) => {
    const asset = await consoleAsset(assetsDir, request.params.name);
    if (asset === null) throw new ApiError(404, 'NOT_FOUND', `no console asset ${request.params.name.slice(0, 80)}${assetsDir === null ? ' (the console is not built: run npm run build)' : ''}`);
    return reply.headers({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }).type(asset.contentType).send(await readFile(asset.path));
  });

  app.post<{ Body: { token: string } }>(
    '/console/login',
    {
      config: PUBLIC_ROUTE,
      schema: { body: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: { type: 'string', maxLength: 1000 } } } },
    },
    async (request, reply) => {
      if (!digestEquals(request.body.token, token)) {
        const remote = request.socket.remoteAddress ?? 'unix socket';
        const suppressed = refusals.take(remote);
        // Never what was presented: only that a login failed, from where.
        if (suppressed !== null) log.warn({ remote, suppressed }, 'console login refused: wrong token');
        throw new ApiError(401, 'UNAUTHORIZED', 'wrong token');
      }
      const id = sessions.create();
      const maxAge = Math.floor(sessions.ttlMs / 1000);
      return reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`).code(204).send();
    },
  );

  app.post('/console/logout', async (request, reply) => {
    sessions.revoke(sessionOf(request));
    return reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`).code(204).send();
  });

  app.get('/console/session', async () => ({ ok: true }));

  app.get('/console/stream/calls', (request, reply) => {
    openStream(request, reply, {
      banner: 'tandem console calls',
      heartbeatMs: HEARTBEAT_MS,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      subscribe: (send) => live.watch((rows, at) => send('calls', live.rowsJson(rows, at))),
    });
  });

  app.get<{ Params: { pairId: string } }>('/console/stream/call/:pairId', (request, reply) => {
    const { pairId } = request.params;
    try {
      node.store.pool.indexOf(pairId);
    } catch {
      throw new ApiError(404, 'UNKNOWN_PAIR', `unknown PAIR_ID ${JSON.stringify(pairId.slice(0, 80))}`);
    }
    openStream(request, reply, {
      banner: `tandem console call ${pairId}`,
      heartbeatMs: HEARTBEAT_MS,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      subscribe: (send) => callStream(send, pairId),
    });
  });

  /** One call's page: its row and timeline each tick, its transcripts batched into the same tick, and its end. */
  function callStream(send: SseSend, pairId: string): () => void {
    let callId: string | null = null;
    let pending: TranscriptRecord[] = [];
    let latencies: object[] = [];
    const onTranslation: TranslationListener = (eventPairId, direction, event) => {
      if (eventPairId !== pairId || event.type !== 'latency') return;
      if (latencies.length >= 200) latencies.shift();
      const { totalMs, ingressMs, endpointingMs, vadMs, providerMs, egressMs } = event;
      latencies.push({ direction, totalMs, ingressMs, endpointingMs, vadMs, providerMs, egressMs, answeredBeforeDecision: event.answeredBeforeDecision === true });
    };
    node.engine.on('translation', onTranslation);
    let endedSent = false;
    const onTranscript = (record: TranscriptRecord): void => {
      if (record.pairId !== pairId) return;
      if (callId !== null && record.callId !== null && record.callId !== callId) return;
      // Bounded: a page that sees transcripts faster than it is sent ticks keeps the newest.
      if (pending.length >= 200) pending.shift();
      pending.push(record);
    };
    node.transcripts.on('transcript', onTranscript);
    const stop = live.watch((rows: LiveCall[]) => {
      const row = rows.find((r) => r.pairId === pairId) ?? null;
      if (row !== null && row.callId !== callId) {
        callId = row.callId;
        endedSent = false;
      }
      if (pending.length > 0) {
        send('transcripts', JSON.stringify(pending));
        pending = [];
      }
      if (latencies.length > 0) {
        send('latency', JSON.stringify(latencies));
        latencies = [];
      }
      if (row !== null) {
        send('call', JSON.stringify({ call: row, timeline: live.timeline(row.callId) }));
        return;
      }
      const ended = live.lastEnded(pairId);
      if (ended !== null && (callId === null || ended.callId === callId) && !endedSent) {
        endedSent = true;
        send('ended', JSON.stringify({ ...ended, timeline: live.timeline(ended.callId) }));
      } else if (callId === null && !endedSent) {
        endedSent = true;
        send('idle', JSON.stringify({ pairId }));
      }
    });
    return () => {
      stop();
      node.transcripts.off('transcript', onTranscript);
      node.engine.off('translation', onTranslation);
    };
  }

  app.get('/console/stream/node', (request, reply) => {
    openStream(request, reply, {
      banner: 'tandem console node',
      heartbeatMs: HEARTBEAT_MS,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      subscribe: (send) => every(Math.max(interval, 1000), async () => send('node', JSON.stringify(await probe.status()))),
    });
  });

  /**
   * Listen-in (docs/console.md): the browser's SDP offer in, the server's answer out, one request (no
   * trickle). A console session (or the API token) may listen; the log names the session by a tag derived
   * from its cookie (not the cookie), so who listened to which pair can be traced.
   */
  app.post<{ Body: { pairId: string; source: TapSource; sdp: string } }>(
    '/console/listen',
    {
      schema: {
        body: {
          type: 'object',
          required: ['pairId', 'source', 'sdp'],
          additionalProperties: false,
          properties: { pairId: { type: 'string', maxLength: 200 }, source: { type: 'string', enum: [...TAP_SOURCES] }, sdp: { type: 'string', maxLength: 20_000 } },
        },
      },
    },
    async (request) => {
      const { pairId, source, sdp } = request.body;
      try {
        node.store.pool.indexOf(pairId);
      } catch {
        throw new ApiError(404, 'UNKNOWN_PAIR', `unknown PAIR_ID ${JSON.stringify(pairId.slice(0, 80))}`);
      }
      const session = sessionOf(request);
      const who = { session: session === undefined || !sessions.valid(session) ? 'api-token' : sessionTag(session), remote: request.socket.remoteAddress ?? 'unix socket' };
      return await listenIn.start({ pairId, source, sdp, who });
    },
  );

  app.delete<{ Params: { id: string } }>('/console/listen/:id', async (request, reply) => {
    if (!listenIn.stop(request.params.id)) throw new ApiError(404, 'NOT_FOUND', 'no such listener');
    return reply.code(204).send();
  });

  /** Last presence change seen per extension since start (time and IP of the last registration). */
  const lastSeen = new Map<string, { at: string; ip: string | null; status: string }>();
  const onPresence = (change: PresenceChange): void => {
    lastSeen.set(change.number, { at: change.at.toISOString(), ip: change.ip, status: change.status });
  };
  node.presence?.feed.on('presence', onPresence);
  app.addHook('onClose', async () => void node.presence?.feed.off('presence', onPresence));

  app.get('/console/stream/extensions', (request, reply) => {
    openStream(request, reply, {
      banner: 'tandem console extensions',
      heartbeatMs: HEARTBEAT_MS,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      subscribe: (send) => every(Math.max(interval, 1000), async () => send('extensions', JSON.stringify(await extensionsView()))),
    });
  });

  async function extensionsView(): Promise<object> {
    const pool = node.store.pool;
    const [leases, statuses] = await Promise.all([node.store.list(), node.presence ? node.presence.store.statuses().catch(() => null) : Promise.resolve(null)]);
    const leased = new Map(leases.map((l) => [l.pairId, l.state]));
    const presence = (ext: string): object => ({ status: statuses?.get(ext) ?? 'unknown', last: lastSeen.get(ext) ?? null });
    const pairs = [];
    for (let i = 0; i < pool.size; i++) {
      const pairId = pool.pairIdAt(i);
      const { extA, extB } = pool.extensionsAt(i);
      pairs.push({ pairId, extA, extB, state: leased.get(pairId) ?? 'free', operatorDisabled: node.holds.has(pairId), presenceA: presence(extA), presenceB: presence(extB) });
    }
    return { presence: node.presence !== null, pairs };
  }

  app.put<{ Params: { pairId: string }; Body: { enabled: boolean } }>(
    '/console/pairs/:pairId/enabled',
    { schema: { body: { type: 'object', required: ['enabled'], additionalProperties: false, properties: { enabled: { type: 'boolean' } } } } },
    async (request, reply) => {
      const { pairId } = request.params;
      try {
        node.store.pool.indexOf(pairId);
      } catch {
        throw new ApiError(404, 'UNKNOWN_PAIR', `unknown PAIR_ID ${JSON.stringify(pairId.slice(0, 80))}`);
      }
      await node.holds.set(node.store, pairId, request.body.enabled);
      log.info({ pairId, enabled: request.body.enabled }, 'pair availability set from the console');
      return reply.code(204).send();
    },
  );

  return {
    close() {
      live.close();
      probe.close();
      listenIn.close();
    },
  };
}

/** A console session in the log: 12 hex of a hash of its id, enough to tell sessions apart, useless as a cookie. */
function sessionTag(id: string): string {
  return `console:${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
}

/** Runs `task` now and every `ms` until stopped; a failing run is skipped, never overlapping. */
function every(ms: number, task: () => Promise<void>): () => void {
  let running = false;
  const run = (): void => {
    if (running) return;
    running = true;
    task()
      .catch(() => undefined)
      .finally(() => {
        running = false;
      });
  };
  run();
  const timer = setInterval(run, ms);
  return () => clearInterval(timer);
}
