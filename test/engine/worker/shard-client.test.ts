import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../../common/src/errors.js';
import { ShardClient } from '../../../engine/src/worker/shard-client.js';
import type { ShardMessage } from '../../../engine/src/worker/protocol.js';

/** The worker's end of the channel, played by the test: it sees requests and answers when told. */
function workerEnd(port: MessagePort): { requests: Array<{ id: number; type: string }>; say: (m: ShardMessage) => void } {
  const requests: Array<{ id: number; type: string }> = [];
  port.on('message', (m: { id: number; type: string }) => requests.push(m));
  return { requests, say: (m) => port.postMessage(m) };
}

const settled = <T>(p: Promise<T>): { state: () => 'pending' | 'resolved' | 'rejected'; value: Promise<T> } => {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  return { state: () => state, value: p };
};

/** Lets port messages (real, not timers) travel both ways. */
const hop = async (until: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !until(); i++) await new Promise((r) => setImmediate(r));
};

describe('ShardClient deadlines', () => {
  const channels: MessageChannel[] = [];
  afterEach(() => {
    vi.useRealTimers();
    for (const c of channels.splice(0)) {
      c.port1.close();
      c.port2.close();
    }
  });

  // Fake timers (and performance.now): a thread that takes seconds to start is simulated, not waited for.
  const setup = (requestTimeoutMs: number, startTimeoutMs: number): { client: ShardClient; worker: ReturnType<typeof workerEnd> } => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const channel = new MessageChannel();
    channels.push(channel);
    const client = new ShardClient(0, channel.port1, requestTimeoutMs, () => undefined, startTimeoutMs);
    return { client, worker: workerEnd(channel.port2) };
  };

  it('a request sent while the shard starts waits out the start deadline, not just its own', async () => {
    const { client, worker } = setup(100, 10_000);
    expect(client.ready).toBe(false);
    const stats = settled(client.request<number>({ type: 'stats' }));
    await hop(() => worker.requests.length === 1);
    // A slow thread start: far past the request timeout, within the start deadline.
    vi.advanceTimersByTime(5000);
    expect(stats.state()).toBe('pending');
    worker.say({ kind: 'ready', shard: 0 });
    worker.say({ kind: 'response', id: worker.requests[0]!.id, ok: true, result: 7 });
    await hop(() => stats.state() !== 'pending');
    await expect(stats.value).resolves.toBe(7);
    expect(client.ready).toBe(true);
    client.close();
  });

  it('once ready, a request gets its own deadline', async () => {
    const { client, worker } = setup(100, 10_000);
    worker.say({ kind: 'ready', shard: 0 });
    await hop(() => client.ready);
    const stats = settled(client.request({ type: 'stats' }));
    vi.advanceTimersByTime(99);
    expect(stats.state()).toBe('pending');
    vi.advanceTimersByTime(1);
    await expect(stats.value).rejects.toBeInstanceOf(TimeoutError);
    client.close();
  });

  it('a shard that never starts fails the request at the start deadline plus its own', async () => {
    const { client } = setup(100, 10_000);
    const stats = settled(client.request({ type: 'stats' }));
    vi.advanceTimersByTime(10_099);
    expect(stats.state()).toBe('pending');
    vi.advanceTimersByTime(1);
    await expect(stats.value).rejects.toThrow(/did not answer stats within 10100 ms \(sent while it was starting\)/);
    client.close();
  });
});
