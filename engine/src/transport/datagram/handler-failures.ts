import { errorMessage } from '../../../../common/src/errors.js';
import { logger } from '../../../../common/src/logger.js';
import type { DatagramIo } from './datagram-port.js';

const log = logger('engine.datagram-port');

/**
 * A batch handler that throws must not stop the port: the failure is counted
 * and logged at powers of two (the first ones visible, a flood not a log flood).
 */
export class HandlerFailures {
  count = 0;
  readonly #io: DatagramIo;
  readonly #local: { address: string; port: number };

  constructor(io: DatagramIo, local: { address: string; port: number }) {
    this.#io = io;
    this.#local = local;
  }

  record(err: unknown): void {
    const n = ++this.count;
    if ((n & (n - 1)) === 0) log.error({ io: this.#io, local: `${this.#local.address}:${this.#local.port}`, err: errorMessage(err), count: n }, 'datagram batch handler failed');
  }
}
