import type { MediaEngine } from '../../engine/src/engine.js';
import type { RtpPairResult } from '../../engine/src/worker/protocol.js';
import { LoadTestError } from './errors.js';
import type { GeneratorPairPorts } from './generator-protocol.js';
import type { Resolved } from './load-options.js';

const OPEN_CONCURRENCY = 16;

/** Runs items through fn with at most `limit` in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** Opens pairs first..first+count-1 on the engine, with the run's codec (and translation, if any). */
export function openPairs(engine: MediaEngine, o: Pick<Resolved, 'codec' | 'translation'>, first: number, count: number): Promise<RtpPairResult[]> {
  const indices = Array.from({ length: count }, (_, i) => first + i);
  const { codec, translation } = o;
  return mapLimit(indices, OPEN_CONCURRENCY, (i) =>
    engine.openPair({
      pairId: `lt_${String(i).padStart(5, '0')}`,
      extA: String(7000 + 2 * i),
      extB: String(7001 + 2 * i),
      codec,
      ...(translation !== undefined ? { translation } : {}),
    }),
  );
}

/** Points each engine leg at the generator socket that plays its Asterisk side. */
export async function connectPairs(engine: MediaEngine, opened: readonly RtpPairResult[], first: number, ports: readonly GeneratorPairPorts[]): Promise<void> {
  const byIndex = new Map<number, GeneratorPairPorts>(ports.map((p) => [p.index, p]));
  await mapLimit(opened, OPEN_CONCURRENCY * 2, async (pair, i) => {
    const p = byIndex.get(first + i);
    if (!p) throw new LoadTestError('GENERATOR_FAILED', `generator opened no sockets for pair ${first + i}`);
    await engine.setRemote(pair.pairId, 'A', { address: '127.0.0.1', port: p.portA });
    await engine.setRemote(pair.pairId, 'B', { address: '127.0.0.1', port: p.portB });
  });
}
