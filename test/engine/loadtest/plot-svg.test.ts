import { describe, expect, it } from 'vitest';
import { escapeXml, histogramPlot, linePlot, niceTicks } from '../../../tools/media-load/plot-svg.js';
import { findKnee } from '../../../tools/media-load/ramp-controller.js';
import type { TimelineSample } from '../../../tools/media-load/report.js';

describe('plot-svg', () => {
  it('chooses round ticks that cover the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 0.37, 5)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    const t = niceTicks(3, 847, 8);
    expect(t[0]).toBeLessThanOrEqual(3);
    expect(t.at(-1)).toBeGreaterThanOrEqual(847);
    expect(niceTicks(5, 5)).toEqual(expect.arrayContaining([5, 6]));
    expect(niceTicks(NaN, 1)).toEqual([0, 1]);
  });

  it('draws a line plot with axes, labels, legend, gaps and a second axis', () => {
    const svg = linePlot({
      title: 'Loss <&> CPU',
      xLabel: 'time (s)',
      yLabel: 'loss (%)',
      y2Label: 'CPU (%)',
      series: [
        { label: 'loss', points: [[1, 0], [2, 0.5], [3, NaN], [4, 1]] },
        { label: 'cpu', points: [[1, 40], [2, 60], [3, 80], [4, 90]], axis: 'right' },
      ],
      markers: [{ x: 2, label: 'knee' }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('Loss &lt;&amp;&gt; CPU');
    for (const label of ['time (s)', 'loss (%)', 'CPU (%)', '>loss<', '>cpu<', 'knee']) expect(svg).toContain(label);
    // The NaN splits the loss line in two: two moves in its path.
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1] as string);
    expect(paths).toHaveLength(2);
    expect(paths[0]!.match(/M/g)).toHaveLength(2);
    expect(paths[1]!.match(/M/g)).toHaveLength(1);
  });

  it('draws histogram bars and skips empty ones', () => {
    const svg = histogramPlot({ title: 'h', xLabel: 'ms', yLabel: 'frames', bars: [{ x0: 0, x1: 1, y: 5 }, { x0: 1, x1: 2, y: 0 }, { x0: 2, x1: 3, y: 9 }] });
    // Background plus two bars.
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(escapeXml(`a"b'c`)).toBe('a&quot;b&#39;c');
  });
});

describe('findKnee', () => {
  const s = (t: number, pairs: number, loss: number, p99: number | null): TimelineSample => ({ t, pairs, pps_in: pairs * 100, pps_out: pairs * 100, loss_pct: loss, cpu_pct: 10, latency_p99_ms: p99 });
  const ramp = { lossPct: 0.1, latencyMs: 100 };

  it('is the last pair count before the first window over a threshold, ignoring the warm-up', () => {
    const timeline = [s(1, 10, 5, 500), s(2, 10, 0, 20), s(3, 20, 0, 30), s(4, 30, 0.05, 90), s(5, 40, 0.2, 50), s(6, 50, 0, 20)];
    expect(findKnee(ramp, timeline, 1)).toBe(30);
    expect(findKnee(ramp, [s(2, 10, 0, 20), s(3, 20, 0, 101)], 1)).toBe(10);
    expect(findKnee(ramp, [s(2, 10, 0.5, 20)], 1)).toBeNull();
    // A second where nothing was measured (every pair settling) says nothing.
    expect(findKnee(ramp, [s(2, 10, 0, 20), s(3, 20, 0, null), s(4, 30, 0, 20)], 1)).toBe(30);
  });
});
