import { EventEmitter } from 'node:events';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { registerConsole, type ConsoleNode } from '../../../control/src/console/console-routes.js';
import type { LivePair } from '../../../control/src/console/live-calls.js';
import { OperatorHolds } from '../../../control/src/console/operator-holds.js';
import { createControlApi, type ControlApi } from '../../../control/src/http/index.js';
import { EngineSampler } from '../../../control/src/metrics/engine-sampler.js';
import type { EngineStats, LegStats, PairStats } from '../../../engine/src/index.js';
import { buildConsoleWeb } from '../../support/console-web.js';
import { launchChromium, loginToConsole, type TestBrowser } from '../../support/chromium.js';

/**
 * The calls page with 500 calls up, in chromium: every row is drawn, and the live stream stays
 * throttled to one update per interval however fast the engine's counters move. The node is the
 * console's real server (routes, LiveCalls, EngineSampler, SSE) over a stand-in app and engine: 500
 * pairs whose packet counters advance every 2 ms (so anything per-packet would show), without
 * running 1000 RTP legs on a shared test machine. How long drawing takes is measured by
 * tools/bench/bench-console.ts, not asserted here.
 */
const TOKEN = 'console-500-token-0123456789';
const CALLS = 500;
const INTERVAL_MS = 1000;
const DEADLINE = 120_000;

function legStats(packets: number): LegStats {
  return {
    transport: 'rtp',
    local: null,
    remote: null,
    connected: true,
    latch: false,
    ssrc: 1,
    sourceSwitches: 0,
    rxPackets: packets,
    rxBytes: packets * 172,
    rxDropped: {},
    txPackets: packets,
    txBytes: packets * 172,
    txErrors: 0,
    txSkippedNotConnected: 0,
    jitter: {
      received: packets, lost: 0, late: 0, duplicate: 0, reordered: 0, concealed: 0, resyncs: 0, overflow: 0, played: packets,
      accelerated: 0, flushed: 0, decodeErrors: 0, depthMs: 40, targetMs: 40, jitterMs: 1.5, jitterMeanMs: 1.5, jitterMaxMs: 3, depthMeanMs: 40, depthMaxMs: 60,
    },
    latencyFirst: false,
    earlyReading: false,
    earlyReaderErrors: 0,
    level: { rmsDbfs: -20, clippedSamples: 0, frames: packets },
  };
}

/** 500 calls up; the engine's counters move with every "packet" (a 2 ms timer), as a real engine's do. */
class FakeNode {
  readonly pairs: LivePair[] = [];
  readonly events = new EventEmitter();
  packets = 0;
  statsRequests = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(store: MemoryPairStore) {
    const startedAt = Date.now();
    for (let i = 0; i < CALLS; i++) {
      const pairId = store.pool.pairIdAt(i);
      const { extA, extB } = store.pool.extensionsAt(i);
      this.pairs.push({ pairId, extA, extB, callerChannelId: `call-${i}`, callerId: `555${String(i).padStart(4, '0')}`, state: 'active', channelIds: [`call-${i}`], facts: { startedAt, answeredAt: startedAt } });
    }
    this.#timer = setInterval(() => void this.packets++, 2);
  }

  stats(): Promise<EngineStats> {
    this.statsRequests++;
    const pairStats: PairStats[] = this.pairs.map((p) => ({ pairId: p.pairId, extA: p.extA, extB: p.extB, codec: 'ulaw', legA: legStats(this.packets), legB: legStats(this.packets) }));
    return Promise.resolve({ pairs: CALLS, sockets: 2 * CALLS, shards: [{ shard: 0, threadId: 1, heapUsedBytes: 0, priority: { requested: 0, applied: 0 }, pairs: CALLS, sockets: 2 * CALLS, ticks: 0, lateTicks: 0, maxTickLatenessMs: 0, skippedTicks: 0, io: 'dgram', sharedPort: null, pairStats, vad: null }] } as EngineStats);
  }

  consoleNode(store: MemoryPairStore): ConsoleNode {
    const events = this.events;
    return {
      app: { pairs: () => this.pairs, pair: (id) => this.pairs.find((p) => p.pairId === id), on: (e: string, l: (...a: never[]) => void) => events.on(e, l as (...a: unknown[]) => void), off: (e: string, l: (...a: never[]) => void) => events.off(e, l as (...a: unknown[]) => void) },
      ari: { on: (e, l) => events.on(e, l), off: (e, l) => events.off(e, l) },
      store,
      sampler: new EngineSampler(this),
      transcripts: { on: (e, l) => events.on(e, l), off: (e, l) => events.off(e, l) },
      engine: { tapPair: () => Promise.reject(new Error('no listen-in in this test')), on: (e, l) => events.on(e, l), off: (e, l) => events.off(e, l) },
      presence: null,
      links: () => Promise.resolve({}),
      holds: new OperatorHolds(),
    };
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

let api: ControlApi;
let fake: FakeNode;
let base: string;
let chrome: TestBrowser | undefined;

beforeAll(async () => {
  await buildConsoleWeb();
  const store = new MemoryPairStore({ poolSize: CALLS });
  fake = new FakeNode(store);
  api = createControlApi({ store, token: TOKEN });
  registerConsole(api.app, { token: TOKEN, node: fake.consoleNode(store), intervalMs: INTERVAL_MS });
  const address = await api.listen();
  if (!('url' in address)) throw new Error('expected a TCP API');
  base = address.url;
  chrome = await launchChromium();
}, DEADLINE);

afterAll(async () => {
  await chrome?.close();
  await api?.close();
  fake?.close();
});

/**
 * In the page, before its scripts (plain JS: it runs in the browser): every `calls` message and every
 * batch of DOM changes to the calls table, by the page's clock.
 */
const INSTRUMENT = `
  window.__calls = [];
  window.__mutations = [];
  const add = EventSource.prototype.addEventListener;
  EventSource.prototype.addEventListener = function (type, listener, options) {
    if (type === 'calls') add.call(this, type, () => window.__calls.push(performance.now()));
    add.call(this, type, listener, options);
  };
  new MutationObserver(() => {
    if (document.getElementById('calls-body')) window.__mutations.push(performance.now());
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
`;

async function instrument(page: Page): Promise<void> {
  await page.addInitScript({ content: INSTRUMENT });
}

async function seen(page: Page): Promise<{ calls: number[]; mutations: number[] }> {
  return (await page.evaluate('({ calls: [...window.__calls], mutations: [...window.__mutations] })')) as { calls: number[]; mutations: number[] };
}

describe('the calls page with 500 calls up', () => {
  it('draws every row and updates them once per interval, not per packet', async () => {
    const page = await chrome!.context.newPage();
    await instrument(page);
    await loginToConsole(page, base, TOKEN, DEADLINE);
    // A fresh document for the calls page: a hash change after the login's own page would draw the page a
    // second time, and on a busy machine that second draw can come after the first one's rows were counted.
    await page.goto('about:blank');
    await page.goto(`${base}/console#/calls`);
    const rows = page.locator('#calls-body tr');
    await expect.poll(() => rows.count(), { timeout: DEADLINE }).toBe(CALLS);
    await expect.poll(() => page.locator('h1 small span').textContent(), { timeout: DEADLINE }).toBe(String(CALLS));
    // Every row has its cells; the last one is the 500th pair with its caller.
    const last = page.locator(`tr[data-pair="${fake.pairs[CALLS - 1]!.pairId}"] td`);
    expect(await last.count()).toBe(7 + 16);
    expect(await last.nth(1).textContent()).toBe('5550499');

    // Watch the stream for a while: its updates follow the interval whatever the packet rate.
    const packetsAtStart = fake.packets;
    const callsAtStart = (await seen(page)).calls.length;
    expect(callsAtStart).toBeGreaterThan(0);
    await expect.poll(async () => (await seen(page)).calls.length, { timeout: DEADLINE }).toBeGreaterThanOrEqual(callsAtStart + 6);
    const { calls, mutations } = await seen(page);
    const packets = fake.packets - packetsAtStart;
    const windowMs = calls.at(-1)! - calls[callsAtStart - 1]!;
    const messages = calls.length - callsAtStart;
    // At most one message per interval (+1 for a tick delayed into the next one), and far fewer than packets.
    expect(messages).toBeLessThanOrEqual(Math.floor(windowMs / INTERVAL_MS) + 1);
    expect(packets).toBeGreaterThan(10 * messages);
    // The DOM changes only when a message arrives (one synchronous draw, one batch of mutations): between
    // two messages at most one batch, the previous message's.
    for (let i = callsAtStart - 1; i < calls.length - 1; i++) {
      expect(mutations.filter((t) => t > calls[i]! && t <= calls[i + 1]!).length).toBeLessThanOrEqual(1);
    }
    // The engine was asked at most once per interval too (one shared sample, however many rows).
    expect(fake.statsRequests).toBeLessThanOrEqual(calls.length + 2);

    // The page still answers input with 500 rows: a row's link opens that call's page.
    await page.locator(`tr[data-pair="${fake.pairs[CALLS - 1]!.pairId}"] a`).click();
    await expect.poll(() => page.locator('h1').textContent(), { timeout: DEADLINE }).toBe(`Call on ${fake.pairs[CALLS - 1]!.pairId}`);
    await page.close();
  }, 300_000);
});
