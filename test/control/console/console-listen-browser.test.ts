import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { buildConsoleWeb } from '../../support/console-web.js';
import { launchChromium, loginToConsole, type TestBrowser } from '../../support/chromium.js';

/**
 * Listen-in in a real browser (Debian's chromium via playwright-core): an operator logged in to the
 * console opens a call's page, clicks listen on the caller's leg, and the page receives the caller's
 * tone over WebRTC from the node (@roamhq/wrtc), measured in the page with WebAudio and inbound-rtp
 * stats. No STUN/TURN: host candidates on this machine only.
 */
const TOKEN = 'console-listen-token-0123456789ab';
const DEADLINE = 60_000;

let sim: AsteriskSimulator;
let node: TandemNode;
let base: string;
let chrome: TestBrowser | undefined;
let browser: BrowserContext;

beforeAll(async () => {
  await buildConsoleWeb();
  sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50 } } });
  node = await TandemNode.start({
    engine: { workers: 1, portRange: { min: 33600, max: 33799 }, requestTimeoutMs: 30_000 },
    store: { poolSize: 2 },
    ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
    api: { token: TOKEN },
    listen: { maxListeners: 1 },
    processMetrics: false,
  });
  const address = node.apiAddress;
  if (address === null || !('url' in address)) throw new Error('expected a TCP API');
  base = address.url;
  // The received audio plays in an <audio> element without a click first.
  chrome = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  browser = chrome.context;
}, 120_000);

afterAll(async () => {
  await chrome?.close();
  await node?.close();
  await sim?.close();
});

function login(page: Page): Promise<void> {
  return loginToConsole(page, base, TOKEN, DEADLINE);
}

async function metric(name: string): Promise<number> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

describe('listen-in over WebRTC in chromium', () => {
  it("plays the caller's tone in the page, shows the leg's level, limits listeners, and ends when the call ends", async () => {
    const page = await browser.newPage();
    await login(page);
    const call = sim.placeCall({ callerNumber: '5550101', audio: tone(440, 8000) });
    const row = page.locator('tr[data-pair="pair_001"]');
    await row.waitFor({ timeout: DEADLINE });
    await expect.poll(() => row.getAttribute('class'), { timeout: DEADLINE }).toBe('state-active');
    // Leg A's speech level (column 14: 7 call columns, then pkt/s, loss, jitter, JB, conc., MOS, level): a −12 dBFS tone.
    await expect.poll(async () => Number(await row.locator('td').nth(13).textContent()), { timeout: DEADLINE }).toBeGreaterThan(-20);
    expect(Number(await row.locator('td').nth(13).textContent())).toBeLessThan(-10);
    expect(await row.locator('td').nth(14).textContent()).toBe('0');

    await page.goto(`${base}/console#/call/pair_001`);
    await expect.poll(() => page.locator('#call-status').textContent(), { timeout: DEADLINE }).toMatch(/^active/);
    await page.locator('#listen-A').click();
    await expect.poll(() => page.locator('#listen-state').textContent(), { timeout: DEADLINE }).toBe('connected (A)');
    const level = page.locator('#listen-level');
    // Bytes arrive, the decoder hears energy, and WebAudio in the page measures the tone (≈ 0.25 RMS full scale).
    await expect.poll(async () => Number(await level.getAttribute('data-bytes')), { timeout: DEADLINE }).toBeGreaterThan(1000);
    await expect.poll(async () => Number(await level.getAttribute('data-energy')), { timeout: DEADLINE }).toBeGreaterThan(0.01);
    await expect.poll(async () => Number(await level.getAttribute('data-rms')), { timeout: DEADLINE }).toBeGreaterThan(0.05);
    expect(await metric('tandem_console_listeners')).toBe(1);

    // One listener per node here (maxListeners 1): a second page is refused with 429.
    const second = await browser.newPage();
    await second.goto(`${base}/console#/call/pair_001`);
    await expect.poll(() => second.locator('#call-status').textContent(), { timeout: DEADLINE }).toMatch(/^active/);
    await second.locator('#listen-B').click();
    await expect.poll(() => second.locator('#listen-state').textContent(), { timeout: DEADLINE }).toMatch(/^failed: Error: 429 .*TOO_MANY_LISTENERS/);
    await second.close();

    // The call ends: the listener ends with it.
    sim.hangup(call.channelId);
    await expect.poll(() => metric('tandem_console_listeners'), { timeout: DEADLINE }).toBe(0);
    await expect.poll(() => page.locator('#listen-state').textContent(), { timeout: DEADLINE }).toMatch(/^(closed|failed|disconnected) \(A\)$/);
    await page.close();
  }, 180_000);

  it('ends a listener when its page goes away, and refuses listening without a session', async () => {
    // The browser keeps the first test's session cookie: no login form this time.
    const page = await browser.newPage();
    sim.placeCall({ callerNumber: '5550102', audio: tone(440, 8000) });
    await page.goto(`${base}/console#/calls`);
    const row = page.locator('tr.state-active');
    await row.first().waitFor({ timeout: DEADLINE });
    const pairId = await row.first().getAttribute('data-pair');
    await page.goto(`${base}/console#/call/${pairId}`);
    await expect.poll(() => page.locator('#call-status').textContent(), { timeout: DEADLINE }).toMatch(/^active/);
    await page.locator('#listen-mix').click();
    await expect.poll(() => page.locator('#listen-state').textContent(), { timeout: DEADLINE }).toBe('connected (mix)');
    expect(await metric('tandem_console_listeners')).toBe(1);
    await page.close();
    await expect.poll(() => metric('tandem_console_listeners'), { timeout: DEADLINE }).toBe(0);

    // No cookie, no token: refused before any WebRTC work.
    const res = await fetch(`${base}/console/listen`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tandem-console': '1' }, body: JSON.stringify({ pairId: pairId ?? '', source: 'A', sdp: 'v=0' }) });
    expect(res.status).toBe(401);
  }, 180_000);
});
