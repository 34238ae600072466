import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PcmRingReader, PcmRingWriter, createPcmRing } from '../../../engine/src/tap/pcm-ring.js';

/** The listen-in tap's ring: a reader awaits frames (woken by the writer), never polls. */
describe('PcmRing waitForFrames', () => {
  it('resolves at once with frames waiting, else when the writer writes or closes', async () => {
    const layout = createPcmRing(16_000, 320, 4);
    const writer = new PcmRingWriter(layout);
    const reader = new PcmRingReader(layout);
    const frame = new Int16Array(320).fill(7);
    writer.write(frame);
    await reader.waitForFrames(60_000);
    expect(reader.drain(() => undefined)).toBe(1);

    // Nothing waiting: only the write ends the wait (the timeout is far beyond the test's own).
    const woken = reader.waitForFrames(600_000);
    setImmediate(() => writer.write(frame));
    await woken;
    expect(reader.drain((pcm) => expect(pcm[0]).toBe(7))).toBe(1);

    const closed = reader.waitForFrames(600_000);
    setImmediate(() => writer.close());
    await closed;
    expect(reader.closed).toBe(true);
  });

  it('is woken by a write from another thread (the engine worker)', async () => {
    const layout = createPcmRing(16_000, 320, 4);
    const reader = new PcmRingReader(layout);
    const waiting = reader.waitForFrames(600_000);
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const header = new Int32Array(workerData.buffer, 0, 4);
       const data = new Int16Array(workerData.buffer, 16, 4 * 320);
       data.fill(9, 0, 320);
       Atomics.store(header, 0, 1);
       Atomics.notify(header, 0);`,
      { eval: true, workerData: layout },
    );
    await waiting;
    expect(reader.drain((pcm) => expect(pcm[319]).toBe(9))).toBe(1);
    await new Promise((resolve) => worker.once('exit', resolve));
  });
});
