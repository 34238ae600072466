import { hostname } from 'node:os';
import { errorMessage } from '../../../engine/src/common/errors.js';
import { logger } from '../../../engine/src/common/logger.js';
import { MediaEngine, type EngineConfigInput } from '../../../engine/src/index.js';
import { createPairStore, type PairStore, type PairStoreConfig } from '../alloc/index.js';
import { AriClientAdapter, type AriClient } from '../ari/index.js';
import { PairSessionApp, parseCallConfig, type CallConfigInput } from '../calls/index.js';
import { createControlApi, type ControlApi, type ListenAddress } from '../http/index.js';

export interface TandemNodeOptions {
  engine?: EngineConfigInput;
  store?: PairStoreConfig;
  ari: { url: string; username: string; password: string; requestTimeoutMs?: number; maxConcurrentRequests?: number };
  calls?: CallConfigInput;
  /** The internal HTTP API; omitted = not served. */
  api?: { token?: string; host?: string; port?: number; socketPath?: string };
}

/**
 * A whole Tandem node: media engine, pair store, ARI connection, the
 * pair_session app and the internal API, started in dependency order and
 * closed in reverse, each part once.
 */
export class TandemNode {
  readonly engine: MediaEngine;
  readonly store: PairStore;
  readonly ari: AriClient;
  readonly app: PairSessionApp;
  readonly api: ControlApi | null;
  readonly apiAddress: ListenAddress | null;
  #closing: Promise<void> | null = null;

  private constructor(parts: { engine: MediaEngine; store: PairStore; ari: AriClient; app: PairSessionApp; api: ControlApi | null; apiAddress: ListenAddress | null }) {
    this.engine = parts.engine;
    this.store = parts.store;
    this.ari = parts.ari;
    this.app = parts.app;
    this.api = parts.api;
    this.apiAddress = parts.apiAddress;
  }

  static async start(options: TandemNodeOptions): Promise<TandemNode> {
    const log = logger('control.node');
    const calls = parseCallConfig(options.calls ?? {});
    const opened: Array<{ close(): Promise<void> }> = [];
    try {
      const node = options.store?.node ?? `${hostname()}:${process.pid}`;
      const store = createPairStore({ ...(options.store ?? {}), node });
      opened.push(store);
      const engine = await MediaEngine.start({ codec: calls.format, ...(options.engine ?? {}) });
      opened.push(engine);
      const ari = await AriClientAdapter.connect({ ...options.ari, app: calls.app });
      opened.push(ari);
      const app = new PairSessionApp({ ari, engine, store, config: calls, node });
      opened.push(app);
      await app.start();
      let api: ControlApi | null = null;
      let apiAddress: ListenAddress | null = null;
      if (options.api) {
        api = createControlApi({ store, ...options.api });
        opened.push(api);
        apiAddress = await api.listen();
      }
      log.info({ app: calls.app, ari: options.ari.url, store: options.store?.redisUrl ? 'redis' : 'memory', api: apiAddress }, 'tandem node started');
      return new TandemNode({ engine, store, ari, app, api, apiAddress });
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'tandem node failed to start');
      for (const part of opened.reverse()) await part.close().catch(() => undefined);
      throw err;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.api?.close().catch(() => undefined);
      await this.app.close();
      await this.ari.close();
      await this.engine.close();
      await this.store.close();
    })();
    return this.#closing;
  }
}
