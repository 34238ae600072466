import { logger } from '../../../../common/src/logger.js';
import type { DatagramIo, DatagramPort, DatagramPortOptions } from './datagram-port.js';
import { DgramDatagramPort } from './dgram-datagram-port.js';
import { loadNativeAddon, type NativeAddonLoad } from './native-addon.js';
import { NativeDatagramPort } from './native-datagram-port.js';

/** What the operator asks for (`tandem start --io`): the addon, node:dgram, or the addon when it loads. */
export type DatagramIoChoice = 'auto' | DatagramIo;
export const DATAGRAM_IO_CHOICES = ['auto', 'native', 'dgram'] as const satisfies readonly DatagramIoChoice[];

/** The addon was asked for explicitly (`--io native`) and cannot be used. */
export class NativeIoUnavailableError extends Error {
  override readonly name = 'NativeIoUnavailableError';
  readonly code = 'NATIVE_IO_UNAVAILABLE';
}

export interface ResolvedDatagramIo {
  io: DatagramIo;
  /** Why the addon is not used (null when it is). */
  reason: string | null;
}

/** Where the fallback notice goes (a pino logger in production). */
export interface NoticeLog {
  warn(fields: object, message: string): void;
}

/**
 * Decides between the addon and node:dgram, and says so once: the first
 * 'auto' that falls back logs one notice with the reason; later ones are
 * silent. The engine resolves once on its main thread and hands the result
 * (an explicit 'native' or 'dgram') to its workers, so a node logs it once.
 */
export class DatagramIoResolver {
  readonly #load: () => NativeAddonLoad;
  readonly #log: NoticeLog;
  #noticeLogged = false;

  constructor(load: () => NativeAddonLoad = loadNativeAddon, log: NoticeLog = logger('engine.datagram-io')) {
    this.#load = load;
    this.#log = log;
  }

  resolve(choice: DatagramIoChoice): ResolvedDatagramIo {
    if (choice === 'dgram') return { io: 'dgram', reason: 'node:dgram was chosen (--io dgram)' };
    const loaded = this.#load();
    if (loaded.ok) return { io: 'native', reason: null };
    if (choice === 'native') throw new NativeIoUnavailableError(`batched socket I/O was asked for (--io native) but is unavailable: ${loaded.reason}`);
    if (!this.#noticeLogged) {
      this.#noticeLogged = true;
      this.#log.warn({ reason: loaded.reason }, 'batched socket I/O unavailable, using node:dgram');
    }
    return { io: 'dgram', reason: loaded.reason };
  }

  /** Binds a port with the chosen implementation (IPv4 only, both of them). */
  async open(options: DatagramPortOptions & { io?: DatagramIoChoice }): Promise<DatagramPort> {
    const { io } = this.resolve(options.io ?? 'auto');
    if (io === 'dgram') return await DgramDatagramPort.open(options);
    const loaded = this.#load();
    if (!loaded.ok) throw new NativeIoUnavailableError(loaded.reason);
    return new NativeDatagramPort(loaded.binding, options);
  }
}

const defaultResolver = new DatagramIoResolver();

/** The thread's resolver: one notice per thread at most. */
export function resolveDatagramIo(choice: DatagramIoChoice): ResolvedDatagramIo {
  return defaultResolver.resolve(choice);
}

export function openDatagramPort(options: DatagramPortOptions & { io?: DatagramIoChoice }): Promise<DatagramPort> {
  return defaultResolver.open(options);
}
