import { describe, expect, it } from 'vitest';
import { renderHtmlReport, mainPlotSvg } from '../../../tools/media-load/html-report.js';
import type { LoadCodecName } from '../../../tools/media-load/load-codec.js';
import { runLoadTest, type LoadTestOptions } from '../../../tools/media-load/orchestrator.js';
import { PNG_SIGNATURE, renderPng } from '../../../tools/media-load/png-render.js';
import { formatReport, reportToJson, type LoadTestReport } from '../../../tools/media-load/report.js';

const SHORT: Omit<LoadTestOptions, 'pairs' | 'seconds'> = { workers: 1, warmupSeconds: 2, preferTone: true, heapProbe: false };

function expectCarried(report: LoadTestReport): void {
  for (const d of [report.directions.a_to_b, report.directions.b_to_a]) {
    expect(d.sent, formatReport(report)).toBeGreaterThan(0);
    // Tagged frames came out of the other leg: the tag survived the engine's decode→encode.
    expect(d.received / d.sent, formatReport(report)).toBeGreaterThan(0.9);
  }
}

describe('runLoadTest with every codec', () => {
  for (const codec of ['ulaw', 'slin16'] as const satisfies readonly LoadCodecName[]) {
    it(`carries tagged ${codec} frames through the engine`, async () => {
      const report = await runLoadTest({ ...SHORT, pairs: 2, seconds: 1, codec });
      expect(report.codec).toBe(codec);
      expectCarried(report);
      expect(report.impairment.applied).toBe(false);
      expect(report.impairment.end_to_end_loss_pct).toBe(report.loss_pct);
      expect(report.timeline.length).toBeGreaterThanOrEqual(2);
      expect(report.ramp).toBeNull();
      const json = JSON.parse(reportToJson(report)) as Record<string, unknown>;
      for (const key of ['timeline', 'impairment', 'codec', 'ramp', 'loss_pct', 'latency_p50_ms', 'latency_histogram']) expect(json).toHaveProperty(key);
    }, 60_000);
  }

  it('carries tagged alaw frames under generator loss and jitter, and keeps impairment drops out of the engine loss', async () => {
    const report = await runLoadTest({ ...SHORT, pairs: 2, seconds: 2, codec: 'alaw', impairment: { lossPct: 10, jitterMs: 20, reorderPct: 5 } });
    expect(report.codec).toBe('alaw');
    expectCarried(report);
    const i = report.impairment;
    expect(i).toMatchObject({ applied: true, jitter_ms: 20, loss_pct: 10, reorder_pct: 5 });
    const scheduled = report.frames_sent + i.dropped_frames;
    expect(i.dropped_frames / scheduled).toBeGreaterThan(0.04);
    expect(i.dropped_frames / scheduled).toBeLessThan(0.18);
    expect(i.dropped_frames).toBe(report.directions.a_to_b.impairment_dropped + report.directions.b_to_a.impairment_dropped);
    expect(i.reordered_packets).toBeGreaterThan(0);
    expect(i.delayed_packets).toBeGreaterThan(0);
    expect(i.end_to_end_loss_pct).toBeGreaterThan(report.loss_pct);
    expect(formatReport(report)).toContain('impairment');
  }, 60_000);
});

describe('a ramp', () => {
  it('adds pairs every second up to its cap, reports the knee and a timeline, and renders HTML and PNG', async () => {
    const report = await runLoadTest({
      ...SHORT,
      warmupSeconds: 1,
      pairs: 6,
      seconds: 9,
      // Thresholds far above anything a healthy engine shows: the cap must be what stops it.
      ramp: { pairsPerSecond: 2, lossPct: 50, latencyMs: 5000 },
    });
    expect(report.ramp, formatReport(report)).not.toBeNull();
    const ramp = report.ramp!;
    expect(ramp.stopped_because, formatReport(report)).toBe('cap');
    expect(ramp.max_pairs).toBe(6);
    expect(ramp.knee_pairs).toBe(6);
    expect(ramp.pairs_per_second).toBe(2);
    expect(report.pairs).toBe(6);
    const pairs = report.timeline.map((s) => s.pairs);
    expect(pairs[0]).toBe(2);
    expect(Math.max(...pairs)).toBe(6);
    for (let k = 1; k < pairs.length; k++) expect(pairs[k]!).toBeGreaterThanOrEqual(pairs[k - 1]!);
    // Stopped early: well before the 9 s bound.
    expect(report.timeline.length).toBeLessThan(1 + 9);
    for (const s of report.timeline) {
      expect(s.pps_in).toBeGreaterThan(0);
      expect(s.loss_pct).toBeGreaterThanOrEqual(0);
    }
    expect(report.timeline.some((s) => s.cpu_pct !== null && s.cpu_pct > 0)).toBe(true);
    expect(formatReport(report)).toContain('knee 6 pairs');

    const html = renderHtmlReport(report, { command: 'tandem loadtest --ramp 2 --pairs 6' });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Four inline plots (ramp: pairs vs CPU first), each with its title.
    expect(html.match(/<svg /g)).toHaveLength(4);
    for (const title of ['Engine CPU against pairs', 'Latency through the engine', 'Loss and engine CPU per second', 'Pairs and latency p99 per second']) {
      expect(html).toContain(title);
    }
    // The figures: loss, latency, the knee, and one table row per second.
    expect(html).toContain(`${report.loss_pct} %`);
    expect(html).toContain(`p50 ${report.latency_p50_ms} ms`);
    expect(html).toContain('knee 6');
    expect(html.match(/<tr><td>/g)).toHaveLength(report.timeline.length);
    // Self-contained: no scripts, stylesheets, fonts or images from elsewhere.
    expect(html).not.toMatch(/<script|<link|@import|url\(|src=/i);
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);

    const png = renderPng(mainPlotSvg(report));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect(png.readUInt32BE(16)).toBe(1440);
    expect(png.readUInt32BE(20)).toBe(720);
    expect(png.length).toBeGreaterThan(10_000);
    expect(png.length).toBeLessThan(2_000_000);
  }, 90_000);
});

describe('a ramp over its threshold', () => {
  it('stops at the first measured window over the latency threshold and reports no knee', async () => {
    const report = await runLoadTest({ ...SHORT, warmupSeconds: 1, pairs: 20, seconds: 8, ramp: { pairsPerSecond: 1, latencyMs: 0.001 } });
    expect(report.ramp?.stopped_because, formatReport(report)).toBe('latency');
    expect(report.ramp?.knee_pairs).toBeNull();
    expect(report.ramp?.max_pairs).toBeLessThan(20);
  }, 60_000);
});
