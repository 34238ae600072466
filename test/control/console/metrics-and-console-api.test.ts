import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

/**
 * /metrics, /readyz and the console's login and session rules on a real node
 * (Asterisk simulator, real UDP media, the API on TCP), without a browser.
 */
const TOKEN = 'metrics-console-token-0123456789';

let sim: AsteriskSimulator;
let node: TandemNode;
let base: string;

beforeAll(async () => {
  sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50, audio: tone(880) } } });
  node = await TandemNode.start({
    engine: { workers: 1, portRange: await freePortRange(200), requestTimeoutMs: 30_000 },
    store: { poolSize: 3 },
    ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
    api: { token: TOKEN },
    processMetrics: false,
  });
  const address = node.apiAddress;
  if (address === null || !('url' in address)) throw new Error('expected a TCP API');
  base = address.url;
}, 60_000);

afterAll(async () => {
  await node?.close();
  await sim?.close();
});

async function metrics(): Promise<string> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return await res.text();
}

/** The value of one series (name with its labels exactly as exposed), or null when absent. */
function series(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return null;
}

/** Polls an async condition until it holds; the deadline only ends a stuck test. */
async function until(condition: () => Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function login(token: string): Promise<Response> {
  return await fetch(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
}

describe('GET /metrics and /readyz', () => {
  it('refuses a scrape without the token and reports readiness publicly', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('counts a call from start to end: pairs by state, setup time, packets per leg, outcome', async () => {
    const before = await metrics();
    expect(series(before, 'tandem_calls_started_total')).toBe(0);
    expect(series(before, 'tandem_link_up{link="ari"}')).toBe(1);
    expect(series(before, 'tandem_engine_workers')).toBe(1);
    expect(series(before, 'tandem_engine_workers_up')).toBe(1);
    expect(series(before, 'tandem_calls_rejected_total{reason="pool-exhausted"}')).toBe(0);

    const call = sim.placeCall({ callerNumber: '5551234', audio: tone(440) });
    await waitFor(() => node.app.pairs().some((p) => p.state === 'active'), 20_000);
    const during = await metrics();
    expect(series(during, 'tandem_calls_started_total')).toBe(1);
    expect(series(during, 'tandem_pairs{state="active"}')).toBe(1);
    expect(series(during, 'tandem_call_setup_seconds_count')).toBe(1);
    // Packets keep flowing while the call is up: the counter grows between scrapes, before any teardown.
    let rx = 0;
    await until(async () => {
      rx = series(await metrics(), 'tandem_leg_packets_total{leg="A",kind="rx"}') ?? 0;
      return rx > 25;
    }, 20_000);
    await until(async () => (series(await metrics(), 'tandem_leg_packets_total{leg="A",kind="rx"}') ?? 0) > rx, 20_000);
    // Played out toward leg B too (the record's MOS rates played audio).
    await until(async () => (series(await metrics(), 'tandem_leg_packets_total{leg="A",kind="played"}') ?? 0) > 0, 20_000);

    sim.hangup(call.channelId);
    await waitFor(() => node.app.pairCount === 0, 20_000);
    const after = await metrics();
    expect(series(after, 'tandem_calls_ended_total{reason="caller-hangup",hangup_by="caller"}')).toBe(1);
    expect(series(after, 'tandem_pairs{state="active"}')).toBe(0);
    expect(series(after, 'tandem_leg_mos_count{leg="A"}')).toBe(1);
    const rxTotal = series(after, 'tandem_leg_packets_total{leg="A",kind="rx"}') ?? 0;
    const record = (await node.records.list({ limit: 1 })).calls[0];
    // Deltas of live samples plus the final stats add up to exactly what the call's record counted.
    expect(rxTotal).toBe(record?.legs?.A.rxPackets);
    // No per-pair or per-extension labels anywhere.
    // (Label sets only: a sample's value may well contain the digits 7000.)
    const labelSets = after.split('\n').filter((l) => !l.startsWith('#')).flatMap((l) => /\{([^}]*)\}/.exec(l)?.[1] ?? []);
    expect(labelSets.length).toBeGreaterThan(0);
    expect(labelSets.filter((labels) => /pair_0|7000|7001/.test(labels))).toEqual([]);
  }, 90_000);
});

describe('docs/grafana-tandem.json', () => {
  it('queries only series the node exposes', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../../docs/grafana-tandem.json', import.meta.url), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const names = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\btandem_[a-z_]+/g) ?? [])));
    expect(names.size).toBeGreaterThan(8);
    const exposed = await metrics();
    for (const name of names) expect(exposed, name).toMatch(new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'));
  });
});

describe('the console login', () => {
  it('serves the page and its assets without a session, and nothing else', async () => {
    const page = await fetch(`${base}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/console/assets/main.js');
    expect((await fetch(`${base}/console/session`)).status).toBe(401);
    expect((await fetch(`${base}/console/stream/calls`)).status).toBe(401);
    expect((await fetch(`${base}/console/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('refuses a wrong token and turns the right one into an HttpOnly SameSite=Strict session cookie that is not the token', async () => {
    expect((await login('not-the-token-0123456789')).status).toBe(401);
    const res = await login(TOKEN);
    expect(res.status).toBe(204);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^tandem_console=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0]!;
    expect((await fetch(`${base}/console/session`, { headers: { cookie: session } })).status).toBe(200);
    // The session opens the API's reads (the call records the history page shows)…
    expect((await fetch(`${base}/v1/calls`, { headers: { cookie: session } })).status).toBe(200);
    expect((await fetch(`${base}/console/stream/call/not_a_pair`, { headers: { cookie: session } })).status).toBe(404);
    // …but a change only with the console's header, which a cross-site form cannot send.
    const toggle = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${base}/console/pairs/pair_002/enabled`, { method: 'PUT', headers: { cookie: session, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ enabled: false }) });
    expect((await toggle({})).status).toBe(401);
    expect((await toggle({ 'x-tandem-console': '1' })).status).toBe(204);
    // A cookie never rescues a wrong bearer token.
    expect((await fetch(`${base}/v1/calls`, { headers: { cookie: session, authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    // Disabled: the pool hands out every other pair, never pair_002.
    const granted: string[] = [];
    for (let i = 0; i < 2; i++) granted.push((await node.store.allocate({ owner: 'api' })).pairId);
    expect(granted.sort()).toEqual(['pair_001', 'pair_003']);
    await expect(node.store.allocate({ owner: 'api' })).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });

    const out = await fetch(`${base}/console/logout`, { method: 'POST', headers: { cookie: session, 'x-tandem-console': '1' } });
    expect(out.status).toBe(204);
    expect((await fetch(`${base}/console/session`, { headers: { cookie: session } })).status).toBe(401);
  });
});
