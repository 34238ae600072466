import type { Logger } from '../common/logger.js';
import type { Codec } from '../codec/index.js';
import type { StageFactory } from '../pipeline/index.js';
import type { LegName, PairStats, UdpEndpoint } from '../worker/protocol.js';
import { MediaDirection, type SlotPlanner } from './media-direction.js';
import { RtpLeg } from './rtp-leg.js';

/**
 * An engine session: PAIR_ID with leg A (EXT_A's bridge) and leg B (EXT_B's
 * bridge). What A says is processed into B and what B says into A; the two
 * directions never share buffers.
 */
export interface PairSessionOptions {
  pairId: string;
  extA: string;
  extB: string;
  legA: RtpLeg;
  legB: RtpLeg;
  stageFactory: StageFactory;
  log: Logger;
  /** The worker's scheduler, so each direction can align its tick with its packets. */
  planner?: SlotPlanner;
  alignMarginMs?: number;
}

export class PairSession {
  readonly pairId: string;
  readonly extA: string;
  readonly extB: string;
  readonly legA: RtpLeg;
  readonly legB: RtpLeg;
  readonly #aToB: MediaDirection;
  readonly #bToA: MediaDirection;
  readonly #log: Logger;
  #closed = false;

  constructor(options: PairSessionOptions) {
    this.pairId = options.pairId;
    this.extA = options.extA;
    this.extB = options.extB;
    this.legA = options.legA;
    this.legB = options.legB;
    this.#log = options.log;
    const { pairId, extA, extB, stageFactory } = options;
    const planner = options.planner ?? null;
    const margin = options.alignMarginMs ?? 2;
    this.#aToB = new MediaDirection(pairId, 'A->B', this.legA, this.legB, stageFactory({ pairId, direction: 'A->B', srcExt: extA, dstExt: extB }), planner, margin);
    this.#bToA = new MediaDirection(pairId, 'B->A', this.legB, this.legA, stageFactory({ pairId, direction: 'B->A', srcExt: extB, dstExt: extA }), planner, margin);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get codec(): Codec {
    return this.legA.codec;
  }

  leg(name: LegName): RtpLeg {
    return name === 'A' ? this.legA : this.legB;
  }

  setRemote(name: LegName, remote: UdpEndpoint): void {
    this.leg(name).setRemote(remote);
  }

  /** The two directions; each is its own scheduler task. */
  get directions(): readonly [MediaDirection, MediaDirection] {
    return [this.#aToB, this.#bToA];
  }

  stats(): PairStats {
    return {
      pairId: this.pairId,
      extA: this.extA,
      extB: this.extB,
      codec: this.legA.codec.name,
      legA: this.legA.stats(),
      legB: this.legB.stats(),
    };
  }

  /** Releases both sockets and both stages. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#aToB.close();
    this.#bToA.close();
    this.legA.close();
    this.legB.close();
    this.#log.info({ pairId: this.pairId, reason }, 'pair closed');
  }
}
