import { escapeXml, histogramPlot, linePlot } from './plot-svg.js';
import type { LoadTestReport, TimelineSample } from './report.js';

/**
 * The load test as one self-contained HTML page: the figures, the targets and
 * inline SVG plots (no scripts, fonts or stylesheets from anywhere else), so
 * it can be mailed or attached to a ticket and opened as it is.
 */

const num = (v: number | null | undefined, unit = ''): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v}${unit}`);
const val = (v: number | null): number => (v === null ? NaN : v);

/** Latency distribution of every measured frame, both directions. */
export function latencyHistogramSvg(r: LoadTestReport): string {
  const h = r.latency_histogram;
  return histogramPlot({
    title: `Latency through the engine (${r.frames_received} frames, ${r.codec})`,
    xLabel: 'latency, sent into one leg → out of the other (ms)',
    yLabel: 'frames',
    bars: h.buckets.map(([lower, count]) => ({ x0: lower, x1: lower + h.bucket_ms, y: count })),
    markers: [
      { x: r.latency_p50_ms, label: `p50 ${r.latency_p50_ms} ms` },
      { x: r.latency_p99_ms, label: `p99 ${r.latency_p99_ms} ms` },
    ],
  });
}

/** Loss per second (left) and engine CPU (right) over the run. */
export function lossCpuSvg(r: LoadTestReport): string {
  const t = r.timeline;
  return linePlot({
    title: 'Loss and engine CPU per second',
    xLabel: 'time since the generator started (s)',
    yLabel: 'loss (% of frames sent in the second)',
    y2Label: 'engine CPU (% of one core)',
    series: [
      { label: 'loss %', points: t.map((s) => [s.t, s.loss_pct] as const) },
      { label: 'engine CPU %', points: t.map((s) => [s.t, val(s.cpu_pct)] as const), axis: 'right' },
    ],
    markers: r.warmup_seconds > 0 ? [{ x: r.warmup_seconds, label: 'end of warm-up' }] : [],
    xFromZero: true,
  });
}

/** Pairs (left) and latency p99 (right) over the run. */
export function pairsLatencySvg(r: LoadTestReport): string {
  const t = r.timeline;
  return linePlot({
    title: 'Pairs and latency p99 per second',
    xLabel: 'time since the generator started (s)',
    yLabel: 'pairs sending',
    y2Label: 'latency p99 (ms)',
    series: [
      { label: 'pairs', points: t.map((s) => [s.t, s.pairs] as const) },
      { label: 'latency p99 ms', points: t.map((s) => [s.t, val(s.latency_p99_ms)] as const), axis: 'right' },
    ],
    xFromZero: true,
  });
}

/** Engine CPU against the pairs carried, one dot per second (ramps). */
export function pairsCpuSvg(r: LoadTestReport): string {
  const measured = r.timeline.filter((s) => s.t > r.warmup_seconds);
  const knee = r.ramp?.knee_pairs ?? null;
  return linePlot({
    title: `Engine CPU against pairs${knee !== null ? ` (knee ${knee} pairs)` : ''}`,
    xLabel: 'pairs sending',
    yLabel: 'engine CPU (% of one core)',
    y2Label: 'loss (%)',
    series: [
      { label: 'engine CPU %', points: measured.map((s) => [s.pairs, val(s.cpu_pct)] as const), dots: true },
      { label: 'loss %', points: measured.map((s) => [s.pairs, s.loss_pct] as const), dots: true, axis: 'right' },
    ],
    markers: knee !== null ? [{ x: knee, label: `knee ${knee}` }] : [],
    xFromZero: true,
  });
}

/** The plot for a README: pairs vs CPU for a ramp, loss and CPU over time otherwise. */
export function mainPlotSvg(r: LoadTestReport): string {
  return r.ramp ? pairsCpuSvg(r) : lossCpuSvg(r);
}

function row(label: string, value: string, ok?: boolean | null): string {
  const mark = ok === undefined ? '' : ok === null ? ' <span class="unk">?</span>' : ok ? ' <span class="ok">ok</span>' : ' <span class="miss">missed</span>';
  return `<tr><th>${escapeXml(label)}</th><td>${escapeXml(value)}${mark}</td></tr>`;
}

function timelineTable(t: readonly TimelineSample[]): string {
  const head = '<tr><th>t (s)</th><th>pairs</th><th>pps in</th><th>pps out</th><th>loss %</th><th>CPU %</th><th>p99 ms</th></tr>';
  const body = t
    .map((s) => `<tr><td>${s.t}</td><td>${s.pairs}</td><td>${s.pps_in}</td><td>${s.pps_out}</td><td>${s.loss_pct}</td><td>${num(s.cpu_pct)}</td><td>${num(s.latency_p99_ms)}</td></tr>`)
    .join('');
  return `<table class="timeline">${head}${body}</table>`;
}

export function renderHtmlReport(r: LoadTestReport, options: { command?: string; generatedAt?: Date } = {}): string {
  const generated = (options.generatedAt ?? new Date()).toISOString();
  const i = r.impairment;
  const figures = [
    row('pairs', `${r.pairs}${r.ramp ? ` (ramp +${r.ramp.pairs_per_second}/s)` : ''}`),
    row('codec', r.codec),
    row('measured', `${r.seconds} s after ${r.warmup_seconds} s warm-up, ${r.workers} engine workers, ${r.audio_source} audio`),
    row('loss (engine)', `${r.loss_pct} %`, r.targets.loss_below_0_1_pct),
    row('latency', `p50 ${r.latency_p50_ms} ms, p99 ${r.latency_p99_ms} ms`, r.targets.latency_p50_at_most_30_ms),
    row('pacing jitter', `p50 ${r.pacing_jitter_p50_ms} ms, p99 ${r.pacing_jitter_p99_ms} ms`, r.targets.pacing_jitter_p99_at_most_2_ms),
    row('engine CPU', `${r.cpu_pct} % of one core (run-queue wait ${num(r.cpu_wait_pct, ' %')})`),
    row('engine memory', `RSS ${r.rss_mb} MB (peak ${r.rss_peak_mb} MB), heap growth ${num(r.heap_growth_mb, ' MB')}`, r.targets.no_heap_growth),
    row('packets', `engine in ${r.packets_in}, out ${r.packets_out}; frames sent ${r.frames_sent}, received ${r.frames_received}`),
    row('generator', `${r.generator.threads} threads, CPU ${r.generator.cpu_pct} %, send lateness p99 ${r.generator.send_late_p99_ms} ms`),
    row(
      'impairment',
      i.applied
        ? `jitter 0..${i.jitter_ms} ms, loss ${i.loss_pct} %, reorder ${i.reorder_pct} %: ${i.dropped_frames} frames dropped before sending, ${i.reordered_packets} reordered, ${i.delayed_packets} delayed; end-to-end loss ${i.end_to_end_loss_pct} %`
        : 'none',
    ),
    row('UDP errors (host)', `RcvbufErrors +${num(r.rcvbuf_errors)}, SndbufErrors +${num(r.sndbuf_errors)}`),
    row('machine', `${r.machine.cpu_model}, ${r.machine.cores} cores, node ${r.machine.node}`),
  ];
  if (r.ramp) {
    figures.splice(
      1,
      0,
      row(
        'ramp knee',
        `${r.ramp.knee_pairs ?? 'none'} pairs (loss ≤ ${r.ramp.loss_threshold_pct} % and p99 ≤ ${r.ramp.latency_threshold_ms} ms per second); stopped at ${r.ramp.max_pairs} pairs because: ${r.ramp.stopped_because}`,
      ),
    );
  }
  const plots = [latencyHistogramSvg(r), lossCpuSvg(r), pairsLatencySvg(r)];
  if (r.ramp) plots.unshift(pairsCpuSvg(r));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tandem load test: ${r.pairs} pairs, ${escapeXml(r.codec)}</title>
<style>
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 960px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { text-align: left; padding: 4px 12px 4px 0; vertical-align: top; border-bottom: 1px solid #eee; }
.timeline td, .timeline th { text-align: right; padding: 2px 8px; font-variant-numeric: tabular-nums; }
.ok { color: #2a7d2a; font-weight: bold; } .miss { color: #c0392b; font-weight: bold; } .unk { color: #888; }
figure { margin: 1.5em 0; } svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
code { background: #f4f4f4; padding: 1px 4px; }
</style>
</head>
<body>
<h1>Tandem load test: ${r.pairs} pairs, ${escapeXml(r.codec)}</h1>
<p class="meta">Generated ${escapeXml(generated)}${options.command ? ` by <code>${escapeXml(options.command)}</code>` : ''}. Load ${r.machine.loadavg_1m_at_start} → ${r.machine.loadavg_1m_at_end}.</p>
<table class="figures">${figures.join('\n')}</table>
${plots.map((svg) => `<figure>${svg}</figure>`).join('\n')}
<h2>Per second</h2>
${timelineTable(r.timeline)}
</body>
</html>
`;
}
