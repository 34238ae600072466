import { logger } from '../../../common/src/logger.js';
import { AmiActionError } from './errors.js';
import type { AmiActionOptions, AmiActionResult } from './connection.js';
import type { AmiField } from './message.js';

export type SorceryObjectType = 'endpoint' | 'aor' | 'auth';

/** What the realtime extension service calls after a committed write. */
export interface SorceryExpirer {
  expire(objectType: SorceryObjectType, id: string): Promise<void>;
}

/** The part of `AmiConnection` the expirer needs (an interface so tests and other transports can stand in). */
export interface AmiActionSender {
  action(name: string, fields?: Readonly<Record<string, string>> | readonly AmiField[], options?: AmiActionOptions): Promise<AmiActionResult>;
}

export interface SorceryCacheExpirerOptions {
  /**
   * Cache name per object type, as `name=` in sorcery.conf
   * (`endpoint/cache = memory_cache,name=...`). Defaults follow Asterisk's
   * naming when `name=` is omitted: `<module>/<type>`, e.g. `res_pjsip/endpoint`.
   */
  caches?: Partial<Record<SorceryObjectType, string>>;
  timeoutMs?: number;
}

const DEFAULT_CACHES: Record<SorceryObjectType, string> = {
  endpoint: 'res_pjsip/endpoint',
  aor: 'res_pjsip/aor',
  auth: 'res_pjsip/auth',
};

/**
 * Expires one object from a sorcery memory cache over AMI
 * (`SorceryMemoryCacheExpireObject`), so a database write is live without a
 * reload (docs/asterisk-facts.md). An object that is not in the cache answers "could not be
 * expired" (res_sorcery_memory_cache.c: remove_from_cache fails): nothing stale
 * is cached then, so that counts as success. Every other error rejects.
 */
export class SorceryCacheExpirer implements SorceryExpirer {
  readonly #ami: AmiActionSender;
  readonly #caches: Record<SorceryObjectType, string>;
  readonly #timeoutMs: number;
  readonly #log = logger('ami.sorcery');

  constructor(ami: AmiActionSender, options: SorceryCacheExpirerOptions = {}) {
    this.#ami = ami;
    this.#caches = { ...DEFAULT_CACHES, ...options.caches };
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  async expire(objectType: SorceryObjectType, id: string): Promise<void> {
    const cache = this.#caches[objectType];
    if (cache === undefined) throw new TypeError(`unknown sorcery object type ${String(objectType)}`);
    if (id.length === 0) throw new TypeError('sorcery object id must not be empty');
    try {
      await this.#ami.action('SorceryMemoryCacheExpireObject', [['Cache', cache], ['Object', id]], { timeoutMs: this.#timeoutMs });
      this.#log.debug({ cache, id }, 'sorcery object expired');
    } catch (err) {
      if (err instanceof AmiActionError && err.serverMessage.startsWith('The provided object could not be expired')) {
        this.#log.debug({ cache, id }, 'sorcery object was not cached');
        return;
      }
      throw err;
    }
  }
}
