import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone, type AudioSource } from '../../../tools/asterisk-simulator/ari/index.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/espeak.js';
import { buildConsoleWeb } from '../../support/console-web.js';
import { launchChromium, loginToConsole, type TestBrowser } from '../../support/chromium.js';
import { freePortRange } from '../../support/ports.js';

/**
 * The console in a real browser (Debian's chromium, driven by playwright-core;
 * never a downloaded browser) against a node on the Asterisk simulator, with a
 * caller speaking espeak-ng sentences translated through the reference service.
 */
const TOKEN = 'console-browser-token-0123456789';
const DEADLINE = 60_000;

/**
 * Plays `pcm` (8 kHz) over and over. The caller speaks from the moment its channel exists; on a
 * loaded machine the media path may come up after a single sentence is over, so it is said again.
 */
function speechSource(pcm: Int16Array): AudioSource {
  let at = 0;
  return (sampleRate, samples) => {
    const out = new Int16Array(samples);
    if (sampleRate === 8000) {
      for (let i = 0; i < samples; i++) out[i] = pcm[(at + i) % pcm.length]!;
      at = (at + samples) % pcm.length;
    }
    return out;
  };
}

let sim: AsteriskSimulator;
let service: ReferenceService;
let node: TandemNode;
let base: string;
let chrome: TestBrowser | undefined;
let browser: BrowserContext;
let speech: Int16Array;

beforeAll(async () => {
  await buildConsoleWeb();
  const sentence = await synthesizeSpeechSamples('Where is the train station?', { voice: 'en', sampleRate: 8000 });
  speech = new Int16Array(4000 + sentence.length + 12_000);
  speech.set(sentence, 4000);
  service = await ReferenceService.start();
  sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50, audio: tone(880) } } });
  node = await TandemNode.start({
    engine: { workers: 1, portRange: await freePortRange(200), requestTimeoutMs: 30_000 },
    store: { poolSize: 3 },
    ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
    calls: { translation: { provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'en', B: 'es' } } },
    api: { token: TOKEN },
    processMetrics: false,
  });
  const address = node.apiAddress;
  if (address === null || !('url' in address)) throw new Error('expected a TCP API');
  base = address.url;
  chrome = await launchChromium();
  browser = chrome.context;
}, 120_000);

afterAll(async () => {
  await chrome?.close();
  await node?.close();
  await sim?.close();
  await service?.close();
});

function login(page: Page): Promise<void> {
  return loginToConsole(page, base, TOKEN, DEADLINE);
}

describe('the operator console in chromium', () => {
  it('refuses a wrong token at the login form', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/console`);
    await page.locator('#token').fill('this-is-not-the-token-000');
    await page.locator('#login button[type=submit]').click();
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: DEADLINE }).toBe('Wrong token.');
    expect(await page.locator('#nav').isHidden()).toBe(true);
    await page.close();
  });

  it('shows a call row while the call is up, its transcript, timeline and record on its page, and drops the row after hangup', async () => {
    const calls = await browser.newPage();
    await login(calls);
    // The token went in a POST body: it is in no URL and in no cookie the page can read.
    expect(calls.url()).not.toContain(TOKEN);
    expect(await calls.evaluate('document.cookie')).toBe('');
    const cookies = await browser.cookies(base);
    expect(cookies.find((c) => c.name === 'tandem_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies.some((c) => c.value.includes(TOKEN))).toBe(false);

    const call = sim.placeCall({ callerNumber: '5551234', audio: speechSource(speech) });
    const row = calls.locator('tr[data-pair="pair_001"]');
    await row.waitFor({ timeout: DEADLINE });
    await expect.poll(() => row.getAttribute('class'), { timeout: DEADLINE }).toBe('state-active');
    // Leg A's packets per second (column 8) move once media flows.
    await expect.poll(async () => Number(await row.locator('td').nth(7).textContent()), { timeout: DEADLINE }).toBeGreaterThan(0);
    expect(await row.locator('td').nth(1).textContent()).toBe('5551234');
    expect(await row.locator('td').nth(6).textContent()).toBe('en ⇄ es');

    const detail = await browser.newPage();
    await detail.goto(`${base}/console#/call/pair_001`);
    await expect.poll(() => detail.locator('#call-status').textContent(), { timeout: DEADLINE }).toMatch(/^active · caller 5551234/);
    await expect.poll(() => detail.locator('#call-timeline').textContent(), { timeout: DEADLINE }).toContain('StasisStart caller 5551234');
    // The reference service answers each utterance with its number and length, in both texts.
    const transcript = detail.locator('#transcript-ab li.final');
    await transcript.first().waitFor({ timeout: DEADLINE });
    expect(await transcript.first().textContent()).toMatch(/^\[en\] utterance 1, \d+\.\d s\[es\] utterance 1/);
    await expect.poll(() => detail.locator('#call-latency tr').count(), { timeout: DEADLINE }).toBeGreaterThan(0);
    // Quality over time: the packets/s plot of leg A has a point per update and is off the floor.
    const rxLine = detail.locator('#call-plots svg').nth(2).locator('polyline').first();
    await expect.poll(async () => ((await rxLine.getAttribute('points')) ?? '').split(' ').length, { timeout: DEADLINE }).toBeGreaterThan(2);
    expect(await detail.locator('#call-plots svg').nth(2).textContent()).toMatch(/max [1-9]/);

    sim.hangup(call.channelId);
    await row.waitFor({ state: 'detached', timeout: DEADLINE });
    await expect.poll(() => detail.locator('#call-status').textContent(), { timeout: DEADLINE }).toBe('ended (caller-hangup)');
    await expect.poll(() => detail.locator('#call-timeline').textContent(), { timeout: DEADLINE }).toContain('teardown complete (caller-hangup)');
    // The record, as GET /v1/calls/:id has it.
    await expect.poll(() => detail.locator('#call-record dl').textContent(), { timeout: DEADLINE }).toContain('ended bycaller (caller-hangup');
    const { calls: records } = await node.records.list({ limit: 1 });
    expect(await detail.locator('#call-record dl').textContent()).toContain(records[0]!.id);

    await calls.goto(`${base}/console#/history`);
    await expect.poll(() => calls.locator('#history-body tr').count(), { timeout: DEADLINE }).toBe(1);
    await calls.close();
    await detail.close();
  }, 180_000);

  it('disables a pair from the extensions page: the pool stops handing it out', async () => {
    // The session of the earlier login is the browser's: no login form this time.
    const page = await browser.newPage();
    await page.goto(`${base}/console#/extensions`);
    const toggle = page.locator('tr[data-pair="pair_002"] button.toggle');
    await expect.poll(() => toggle.textContent(), { timeout: DEADLINE }).toBe('enabled — disable');
    await toggle.click();
    await expect.poll(() => toggle.textContent(), { timeout: DEADLINE }).toBe('disabled — enable');
    const granted = [(await node.store.allocate({ owner: 'api' })).pairId, (await node.store.allocate({ owner: 'api' })).pairId];
    expect(granted.sort()).toEqual(['pair_001', 'pair_003']);
    await expect(node.store.allocate({ owner: 'api' })).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    for (const lease of await node.store.list()) await node.store.release(lease.pairId, lease.leaseToken);
    await toggle.click();
    await expect.poll(() => toggle.textContent(), { timeout: DEADLINE }).toBe('enabled — disable');
    expect((await node.store.allocate({ owner: 'api' })).pairId).toBe('pair_001');
    await page.close();
  }, 120_000);

  it('shows the node: link states, engine workers and event-loop lag', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/console#/node`);
    await expect.poll(() => page.locator('#node-links').textContent(), { timeout: DEADLINE }).toContain('ari: connected');
    await expect.poll(() => page.locator('#node-workers tr').count(), { timeout: DEADLINE }).toBe(1);
    expect(await page.locator('#node-summary').textContent()).toMatch(/event-loop lag mean \d+\.\d\d ms/);
    await page.close();
  }, 120_000);
});
