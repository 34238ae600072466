/**
 * Listen-in mouth-to-ear delay on one host: a caller (the Asterisk simulator) is silent, then starts a
 * tone; chromium, listening to leg A over WebRTC from the console, notes when its WebAudio analyser first
 * hears it. Both clocks are the host's (Date.now in Node, performance.timeOrigin + now in the page).
 * Repeated --rounds times on one call (silence 1.5 s, tone 0.5 s).
 *
 *   node --import tsx tools/bench/bench-listen-delay.ts [--rounds 10]
 *
 * Needs `npm run build:console` (or a test run that builds it) and /usr/bin/chromium.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { TandemNode } from '../../control/src/node/tandem-node.js';
import { AsteriskSimulator, type AudioSource } from '../asterisk-simulator/ari/index.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] ?? 10) || 10;
const TOKEN = 'listen-delay-bench-token-0123456';

let toneFrom = Number.POSITIVE_INFINITY;
let toneStartedAt = 0;
let phase = 0;
/** Silence until `toneFrom`; the first samples of the tone note the wall-clock time they were produced (sent). */
const caller: AudioSource = (sampleRate, samples) => {
  const out = new Int16Array(samples);
  if (Date.now() < toneFrom) return out;
  if (toneStartedAt === 0) toneStartedAt = Date.now();
  for (let i = 0; i < samples; i++) out[i] = Math.round(8000 * Math.sin((phase += (2 * Math.PI * 440) / sampleRate)));
  return out;
};

const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'bench', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50 } } });
const node = await TandemNode.start({
  engine: { workers: 1, requestTimeoutMs: 30_000 },
  store: { poolSize: 1 },
  ari: { url: sim.ariUrl, username: 'tandem', password: 'bench' },
  api: { token: TOKEN },
  processMetrics: false,
});
const address = node.apiAddress;
if (address === null || !('url' in address)) throw new Error('expected a TCP API');
const profile = await mkdtemp(join(tmpdir(), 'tandem-listen-delay-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
});
const delays: number[] = [];
try {
  const page = await browser.newPage();
  await page.goto(`${address.url}/console`);
  await page.locator('#token').fill(TOKEN);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#nav').waitFor({ state: 'visible' });
  sim.placeCall({ callerNumber: '5550000', audio: caller });
  await page.goto(`${address.url}/console#/call/pair_001`);
  await page.locator('#call-status').filter({ hasText: /^active/ }).waitFor({ timeout: 60_000 });
  await page.locator('#listen-A').click();
  await page.locator('#listen-state').filter({ hasText: 'connected (A)' }).waitFor({ timeout: 60_000 });
  // An onset detector on the received stream: a short analyser window polled every 2 ms.
  // (A string: this runs in the page, whose DOM types a Node build does not have.)
  await page.evaluate(`(() => {
    const audio = document.getElementById('listen-audio');
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 256;
    ctx.createMediaStreamSource(audio.srcObject).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    window.onsets = [];
    window.loud = false;
    setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let peak = 0;
      for (const x of buf) peak = Math.max(peak, Math.abs(x));
      if (!window.loud && peak > 0.1) window.onsets.push(performance.timeOrigin + performance.now());
      window.loud = peak > 0.05;
    }, 2);
  })()`);
  for (let r = 0; r < rounds; r++) {
    toneStartedAt = 0;
    toneFrom = Date.now() + 1500;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    toneFrom = Number.POSITIVE_INFINITY;
    const onsets = (await page.evaluate('window.onsets')) as number[];
    const heard = onsets.find((t) => t >= toneStartedAt);
    if (toneStartedAt > 0 && heard !== undefined) delays.push(heard - toneStartedAt);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
} finally {
  await browser.close();
  await node.close();
  await sim.close();
  await rm(profile, { recursive: true, force: true });
}
delays.sort((a, b) => a - b);
const q = (p: number): string => (delays.length ? (delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? 0).toFixed(0) : '–');
process.stdout.write(`listen-in mouth-to-ear (caller's tone sent → heard in chromium), ${delays.length}/${rounds} rounds: min ${q(0)} ms, median ${q(0.5)} ms, max ${q(0.999)} ms\n`);
