import { getHeapStatistics } from 'node:v8';
import { threadId, type MessagePort } from 'node:worker_threads';
import { logger } from '../common/logger.js';
import { getCodec } from '../codec/index.js';
import { identityStageFactory } from '../pipeline/identity-stage.js';
import { EngineError } from '../session/errors.js';
import { PairSession } from '../session/pair-session.js';
import { RtpLeg } from '../session/rtp-leg.js';
import { PortAllocator } from '../transport/port-allocator.js';
import type { EngineConfig } from '../config/engine-config.js';
import { PlayoutScheduler } from './playout-scheduler.js';
import type {
  OpenPairRequest,
  OpenPairResult,
  ShardMessage,
  ShardRequest,
  ShardStats,
  ShardTaskInput,
} from './protocol.js';
import { toErrorPayload } from './protocol.js';
import { validateEndpoint, validateOpenPairRequest } from './validate.js';

/**
 * A shard owns the sockets of the pairs assigned to it for their whole life:
 * dgram sockets cannot move between threads, so every packet of a pair is
 * received, processed and sent on this one thread.
 */
export class Shard {
  readonly index: number;
  readonly #config: EngineConfig;
  readonly #ports: PortAllocator;
  readonly #scheduler: PlayoutScheduler;
  readonly #pairs = new Map<string, PairSession>();
  readonly #opening = new Set<string>();
  readonly #log;
  #closed = false;

  constructor(index: number, shardCount: number, config: EngineConfig) {
    this.index = index;
    this.#config = config;
    this.#log = logger('engine.shard', { shard: index });
    this.#ports = new PortAllocator({
      bindAddress: config.bindAddress,
      min: config.portRange.min,
      max: config.portRange.max,
      shard: index,
      shardCount,
      socketBufferBytes: config.socketBufferBytes,
    });
    this.#scheduler = new PlayoutScheduler({
      slots: config.scheduleSlots,
      onTaskError: (err) => this.#log.error({ err }, 'pair tick failed'),
    });
    this.#scheduler.start();
  }

  get pairCount(): number {
    return this.#pairs.size;
  }

  async openPair(request: OpenPairRequest): Promise<OpenPairResult> {
    validateOpenPairRequest(request);
    const { pairId } = request;
    if (this.#pairs.has(pairId) || this.#opening.has(pairId)) {
      throw new EngineError('PAIR_EXISTS', `pair ${pairId} is already open on shard ${this.index}`);
    }
    this.#opening.add(pairId);
    try {
      const codec = getCodec(request.codec ?? this.#config.codec);
      const socketA = await this.#ports.bind();
      let socketB;
      try {
        socketB = await this.#ports.bind();
      } catch (err) {
        socketA.close();
        throw err;
      }
      const log = this.#log;
      const jitter = this.#config.jitter;
      const legA = new RtpLeg({ pairId, name: 'A', ext: request.extA, codec, socket: socketA, jitter, remote: request.remoteA, log });
      const legB = new RtpLeg({ pairId, name: 'B', ext: request.extB, codec, socket: socketB, jitter, remote: request.remoteB, log });
      const session = new PairSession({
        pairId,
        extA: request.extA,
        extB: request.extB,
        legA,
        legB,
        stageFactory: identityStageFactory,
        log,
        planner: this.#scheduler,
        alignMarginMs: this.#config.alignMarginMs,
      });
      if (this.#closed) {
        session.close('shard closed');
        throw new EngineError('ENGINE_CLOSED', 'the shard closed while the pair was opening');
      }
      this.#pairs.set(pairId, session);
      for (const direction of session.directions) this.#scheduler.add(direction);
      log.info({ pairId, extA: request.extA, extB: request.extB, codec: codec.name, legA: legA.local, legB: legB.local }, 'pair opened');
      return { pairId, shard: this.index, legA: legA.local, legB: legB.local };
    } finally {
      this.#opening.delete(pairId);
    }
  }

  setRemote(pairId: string, leg: 'A' | 'B', remote: { address: string; port: number }): void {
    this.#require(pairId).setRemote(leg, remote);
  }

  /** Returns false when the pair is not (or no longer) open here. */
  closePair(pairId: string, reason: string): boolean {
    const session = this.#pairs.get(pairId);
    if (!session) return false;
    for (const direction of session.directions) this.#scheduler.remove(direction);
    this.#pairs.delete(pairId);
    session.close(reason);
    return true;
  }

  stats(): ShardStats {
    const s = this.#scheduler.stats;
    const pairStats = [...this.#pairs.values()].map((p) => p.stats());
    return {
      shard: this.index,
      threadId,
      heapUsedBytes: getHeapStatistics().used_heap_size,
      pairs: this.#pairs.size,
      sockets: pairStats.length * 2,
      ticks: s.ticks,
      lateTicks: s.lateTicks,
      maxTickLatenessMs: s.maxLatenessMs,
      skippedTicks: s.skippedTicks,
      pairStats,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#scheduler.stop();
    for (const pairId of [...this.#pairs.keys()]) this.closePair(pairId, 'shard closed');
  }

  #require(pairId: string): PairSession {
    const session = this.#pairs.get(pairId);
    if (!session) throw new EngineError('UNKNOWN_PAIR', `no open pair ${pairId} on shard ${this.index}`);
    return session;
  }
}

/**
 * Serves one shard over a MessagePort until told to shut down. Runs as a single
 * long-lived piscina task: the task's promise stays pending while the worker's
 * event loop keeps running (the pool is created with atomics disabled, so an
 * idle worker never parks its loop in Atomics.wait).
 */
export async function serveShard(input: ShardTaskInput): Promise<{ shard: number; pairsAtShutdown: number }> {
  const shard = new Shard(input.shard, input.shardCount, input.config);
  const port: MessagePort = input.port;
  const post = (message: ShardMessage): void => port.postMessage(message);

  return await new Promise((resolve) => {
    const finish = (): void => {
      const pairsAtShutdown = shard.pairCount;
      shard.close();
      port.off('message', onMessage);
      port.close();
      resolve({ shard: input.shard, pairsAtShutdown });
    };
    const onMessage = (message: ShardRequest): void => {
      void handle(message).then(
        (result) => {
          post({ kind: 'response', id: message.id, ok: true, result });
          if (message.type === 'shutdown') finish();
        },
        (err: unknown) => post({ kind: 'response', id: message.id, ok: false, error: toErrorPayload(err) }),
      );
    };
    const handle = async (message: ShardRequest): Promise<unknown> => {
      switch (message.type) {
        case 'openPair':
          return await shard.openPair(message.request);
        case 'setRemote':
          validateEndpoint(message.remote, 'remote');
          shard.setRemote(message.pairId, message.leg, message.remote);
          return null;
        case 'closePair':
          return shard.closePair(message.pairId, 'closed by control plane');
        case 'stats':
          return shard.stats();
        case 'shutdown':
          return { pairs: shard.pairCount };
        default: {
          const unknown: never = message;
          throw new TypeError(`unknown shard request ${JSON.stringify(unknown)}`);
        }
      }
    };
    port.on('message', onMessage);
    post({ kind: 'ready', shard: input.shard });
  });
}

export default serveShard;
