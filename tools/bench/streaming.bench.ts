/**
 * Benchmarks of the streaming stage's per-tick work that runs without a
 * network: the playback queue (push one 20 ms answer chunk, read one tick).
 * `addStreamingBenches` follows tools/bench's suites; wire it into
 * tools/bench/run.ts to include it in `npm run bench`.
 */
import type { Bench } from 'tinybench';
import { PlaybackQueue } from '../../engine/src/pipeline/streaming/playback-queue.js';

export function addStreamingBenches(bench: Bench): void {
  const queue = new PlaybackQueue(16000 * 30);
  const chunk = Buffer.alloc(640);
  for (let i = 0; i < 320; i++) chunk.writeInt16LE(Math.round(9000 * Math.sin(i / 7)), 2 * i);
  const out = new Int16Array(320);
  bench.add('playback queue push+read 20ms@16k', () => {
    queue.pushS16LE(chunk, 0, 640);
    queue.read(out, 0, 320);
    queue.takeReachedMark();
  });
}
