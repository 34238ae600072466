import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { provisionPairs } from '../../../control/src/realtime/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/ari/index.js';
import { buildConsoleWeb } from '../../support/console-web.js';
import { launchChromium, loginToConsole, type TestBrowser } from '../../support/chromium.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { freePortRange } from '../../support/ports.js';

/**
 * The console's extensions and node pages on a node that follows presence
 * (PJSIP realtime in PostgreSQL, AMI from the AMI simulator), in Debian's chromium.
 */
const TOKEN = 'console-presence-token-0123456789';
const DEADLINE = 60_000;
const contact = (n: string) => ({ uri: `sip:${n}@127.0.0.1:5${n.slice(1)}`, ip: '127.0.0.1', port: Number(`5${n.slice(1)}`) });

let db: TestDb;
let ami: AmiSimulator;
let ari: AsteriskSimulator;
let node: TandemNode;
let base: string;
let chrome: TestBrowser | undefined;
let browser: BrowserContext;

beforeAll(async () => {
  await buildConsoleWeb();
  db = await createTestDb({ migrate: true });
  await provisionPairs(db.pool, { count: 2 }); // 7000..7003
  ami = await AmiSimulator.start({ accounts: { tandem: 'ami-secret' }, endpoints: ['7000', '7001', '7002', '7003'].map((id) => ({ id })) });
  for (const n of ['7000', '7002', '7003']) ami.register(n, contact(n));
  ari = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret' });
  node = await TandemNode.start({
    engine: { workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 },
    store: { poolSize: 2 },
    ari: { url: ari.ariUrl, username: 'tandem', password: 'ari-secret' },
    database: { url: db.url },
    ami: { port: ami.port, username: 'tandem', secret: 'ami-secret', heartbeatIntervalMs: 1000 },
    api: { token: TOKEN },
    processMetrics: false,
  });
  const address = node.apiAddress;
  if (address === null || !('url' in address)) throw new Error('expected a TCP API');
  base = address.url;
  chrome = await launchChromium();
  browser = chrome.context;
  const page = await browser.newPage();
  await loginToConsole(page, base, TOKEN, DEADLINE);
  await page.close();
}, 120_000);

afterAll(async () => {
  await chrome?.close();
  await node?.close();
  await ari?.close();
  await ami?.close();
  await db?.drop();
});

describe('presence in the console', () => {
  it('a REGISTER flips the extension online on the extensions page, with its IP', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/console#/extensions`);
    const presenceB = page.locator('tr[data-pair="pair_001"] td').nth(4);
    await expect.poll(() => presenceB.textContent(), { timeout: DEADLINE }).toMatch(/^(offline|unknown)/);
    expect(await page.locator('#presence-note').textContent()).toBe('Presence from AMI.');
    ami.register('7001', contact('7001'));
    await expect.poll(() => presenceB.textContent(), { timeout: DEADLINE }).toMatch(/^online \(since \d\d:\d\d:\d\d from 127\.0\.0\.1\)$/);
    await page.close();
  }, 120_000);

  it('the node page shows AMI and PostgreSQL connected', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/console#/node`);
    await expect.poll(() => page.locator('#node-links').textContent(), { timeout: DEADLINE }).toContain('ami: connected');
    expect(await page.locator('#node-links').textContent()).toContain('postgresql: connected');
    await page.close();
  }, 60_000);
});
