import type { PhaseReport, SoakReport, SoakSample } from './types.js';

/** One chart: series of the samples over run time, in one unit. */
interface ChartSpec {
  title: string;
  unit: string;
  series: ReadonlyArray<{ key: keyof SoakSample; label: string; color: string }>;
}

const CHARTS: readonly ChartSpec[] = [
  { title: 'Calls', unit: 'calls', series: [{ key: 'calls_up', label: 'calls up', color: '#1f77b4' }, { key: 'leases', label: 'pairs leased', color: '#ff7f0e' }, { key: 'channels', label: 'channels in Asterisk', color: '#2ca02c' }] },
  { title: 'Call setup (placed → audio both ways), per second', unit: 'ms', series: [{ key: 'setup_p50_ms', label: 'p50', color: '#1f77b4' }, { key: 'setup_p99_ms', label: 'p99', color: '#d62728' }] },
  { title: 'File descriptors', unit: 'fds', series: [{ key: 'fds', label: 'fds', color: '#9467bd' }, { key: 'ari_connections', label: "of them, ARI connections to Asterisk's HTTP server", color: '#bcbd22' }] },
  { title: 'Engine sockets', unit: 'sockets', series: [{ key: 'sockets', label: 'UDP sockets in the leg port range', color: '#8c564b' }] },
  { title: 'Memory', unit: 'MB', series: [{ key: 'rss_mb', label: 'RSS', color: '#e377c2' }, { key: 'heap_used_mb', label: 'heap used', color: '#17becf' }] },
];

const WIDTH = 900;
const HEIGHT = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number): string => (Math.abs(n) >= 100 ? n.toFixed(0) : String(Math.round(n * 10) / 10));

/**
 * The soak's report as one self-contained HTML file: the verdict, a table per phase, and the
 * samples over time as inline SVG plots with each fault's window shaded. No script, no external resource.
 */
export function renderHtmlReport(report: SoakReport): string {
  const tEnd = Math.max(1, report.duration_s, ...report.samples.map((s) => s.t_s));
  const windows = report.phases.filter((p): p is PhaseReport & { fault_window_s: [number, number] } => p.fault_window_s !== null);
  const charts = CHARTS.map((spec) => chart(spec, report.samples, windows, tEnd)).join('\n');
  const verdict = report.verdict === 'pass' ? '<p class="pass">Verdict: PASS</p>' : `<p class="fail">Verdict: FAIL</p><ul>${report.failures.map((f) => `<li><pre>${escape(f)}</pre></li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tandem soak report</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;max-width:960px;color:#222}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.pass{color:#2a7d2a;font-weight:bold}.fail{color:#b22;font-weight:bold}
pre{white-space:pre-wrap;margin:0}svg{display:block;margin:6px 0 18px}.fault{fill:#d62728;fill-opacity:.12}
.legend span{margin-right:14px}.legend i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}
</style></head><body>
<h1>tandem soak</h1>
<p>${report.phases.reduce((a, p) => a + p.attempted, 0)} calls in ${report.duration_s} s; ${report.store} store${report.database ? ', PostgreSQL and AMI' : ''};
${report.rate_per_s}/s, at most ${report.max_concurrent} at once, holds ${report.hold_ms[0]}–${report.hold_ms[1]} ms; heap floor ${report.heap_floor_growth_mb ?? '–'} MB.
Command: <code>${escape(report.tandem_command)}</code></p>
${verdict}
<h2>Phases</h2>
${phaseTable(report)}
<h2>Over time</h2>
<p>Shaded: each fault's window, from injection to its end (named above the plot).</p>
${charts}
</body></html>
`;
}

function phaseTable(report: SoakReport): string {
  const head = ['phase', 'attempted', 'set up', 'completed', 'abandoned', 'failed', 'dropped', 'lost in reach', 'setup p50/p99 ms', 'fault ms', 'recovery ms', 'link up ms', 'records stored/ended', 'leftovers', 'fd growth (ARI / other)', 'note'];
  const cell = (v: string | number | object | null): string => `<td>${escape(v === null ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v))}</td>`;
  const rows = report.phases.map((p) =>
    [
      p.name,
      p.attempted,
      p.set_up,
      p.completed,
      p.abandoned,
      Object.keys(p.failed).length ? p.failed : 0,
      Object.keys(p.dropped).length ? p.dropped : 0,
      p.lost_within_reach,
      `${p.setup_p50_ms ?? '–'} / ${p.setup_p99_ms ?? '–'}`,
      p.fault_ms,
      p.recovery_ms,
      p.link_recovery_ms,
      p.records ? `${p.records.stored} / ${p.records.ended}` : null,
      p.leftovers,
      p.fd_growth === null ? null : `${p.fd_growth} (${p.ari_connection_growth ?? '–'} / ${p.other_fd_growth ?? '–'})`,
      p.fault_note,
    ].map(cell).join(''),
  );
  const drain = report.drain ? `<p>Drain: ${report.drain.calls_in_flight} calls in flight, exit ${report.drain.exit_code ?? report.drain.exit_signal}, ${report.drain.finished_or_torn_down ? 'nothing left' : `left ${escape(JSON.stringify(report.drain.leftovers))}`}.</p>` : '';
  return `<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r}</tr>`).join('')}</table>${drain}`;
}

function chart(spec: ChartSpec, samples: readonly SoakSample[], windows: ReadonlyArray<{ name: string; fault_window_s: [number, number] }>, tEnd: number): string {
  const values = samples.flatMap((s) => spec.series.map((series) => s[series.key])).filter((v): v is number => typeof v === 'number');
  const yMax = values.length ? Math.max(1, ...values) * 1.05 : 1;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number): number => PAD.left + (t / tEnd) * plotW;
  const y = (v: number): number => PAD.top + plotH - (v / yMax) * plotH;
  const shaded = windows
    .map((w) => {
      const [from, to] = w.fault_window_s;
      // An instant fault (a dropped socket) still gets a visible band.
      const width = Math.max(2, x(to) - x(from));
      return `<rect class="fault" data-fault="${escape(w.name)}" x="${x(from).toFixed(1)}" y="${PAD.top}" width="${width.toFixed(1)}" height="${plotH}"/><text x="${x(from).toFixed(1)}" y="${PAD.top + 10}" font-size="10" fill="#b22">${escape(w.name)}</text>`;
    })
    .join('');
  const lines = spec.series
    .map((series) => {
      // A gap (no value: the node restarting, no call set up that second) breaks the line.
      const runs: string[][] = [[]];
      for (const s of samples) {
        const v = s[series.key];
        if (typeof v === 'number') runs.at(-1)!.push(`${x(s.t_s).toFixed(1)},${y(v).toFixed(1)}`);
        else if (runs.at(-1)!.length) runs.push([]);
      }
      return runs
        .filter((r) => r.length)
        .map((r) => (r.length === 1 ? `<circle data-series="${series.key}" cx="${r[0]!.split(',')[0]}" cy="${r[0]!.split(',')[1]}" r="1.5" fill="${series.color}"/>` : `<polyline data-series="${series.key}" fill="none" stroke="${series.color}" stroke-width="1.5" points="${r.join(' ')}"/>`))
        .join('');
    })
    .join('');
  const ticks = [0, 0.5, 1].map((f) => `<text x="${PAD.left - 6}" y="${(y(yMax * f) + 4).toFixed(1)}" font-size="10" text-anchor="end">${fmt(yMax * f)}</text>`).join('');
  const tTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(tEnd * f).toFixed(1)}" y="${HEIGHT - 8}" font-size="10" text-anchor="middle">${fmt(tEnd * f)} s</text>`).join('');
  const legend = spec.series.map((s) => `<span><i style="background:${s.color}"></i>${escape(s.label)}</span>`).join('');
  return `<h3>${escape(spec.title)} (${escape(spec.unit)})</h3><div class="legend">${legend}</div>
<svg role="img" aria-label="${escape(spec.title)}" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">
<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>${shaded}${lines}${ticks}${tTicks}</svg>`;
}
