/**
 * Small, dependency-free SVG plots for the load-test report: a line plot
 * (one or two y axes) and a histogram. Output is a complete <svg> element
 * with axes, ticks, labels with units, a title and a legend, so it can be
 * inlined into HTML or rasterised (png-render.ts) as it is. Text uses a
 * generic font family so a browser and resvg both find one.
 */

export interface PlotSeries {
  label: string;
  /** [x, y]; points with a non-finite y are gaps in the line. */
  points: ReadonlyArray<readonly [number, number]>;
  color?: string;
  /** Which y axis the series is read against. Default left. */
  axis?: 'left' | 'right';
  /** Draw dots at the points instead of a line (scatter). */
  dots?: boolean;
}

export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Label of the right axis; required when a series uses it. */
  y2Label?: string;
  series: readonly PlotSeries[];
  width?: number;
  height?: number;
  /** Vertical marker lines, e.g. a ramp's knee. */
  markers?: ReadonlyArray<{ x: number; label: string }>;
  /** Start the x axis at 0 (counts such as pairs). */
  xFromZero?: boolean;
}

export interface HistogramPlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Bars [x0, x1) with a height. */
  bars: ReadonlyArray<{ x0: number; x1: number; y: number }>;
  color?: string;
  width?: number;
  height?: number;
  markers?: ReadonlyArray<{ x: number; label: string }>;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';
const MARGIN = { left: 72, right: 72, top: 60, bottom: 58 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** About `count` round tick values (1, 2, 2.5, 5 × 10^k) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks.at(-1) ?? -Infinity) < max) ticks.push(Number((first + ticks.length * step).toPrecision(12)));
  return ticks;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 10_000) return `${Number((v / 1000).toPrecision(4))}k`;
  return String(Number(v.toPrecision(4)));
}

interface Frame {
  width: number;
  height: number;
  x: (v: number) => number;
  y: (v: number) => number;
  y2: (v: number) => number;
  parts: string[];
}

function extent(values: number[], includeZero: boolean): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v));
  let lo = finite.length > 0 ? Math.min(...finite) : 0;
  let hi = finite.length > 0 ? Math.max(...finite) : 1;
  if (includeZero) lo = Math.min(0, lo);
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

function axes(
  o: { title: string; xLabel: string; yLabel: string; y2Label?: string; width?: number; height?: number },
  xr: [number, number],
  yr: [number, number],
  y2r: [number, number] | null,
): Frame {
  const width = o.width ?? 720;
  const height = o.height ?? 360;
  const pw = width - MARGIN.left - MARGIN.right;
  const ph = height - MARGIN.top - MARGIN.bottom;
  const xt = niceTicks(xr[0], xr[1], 8);
  const yt = niceTicks(yr[0], yr[1], 5);
  const x0 = xt[0] as number;
  const x1 = xt.at(-1) as number;
  const y0 = yt[0] as number;
  const y1 = yt.at(-1) as number;
  const x = (v: number): number => MARGIN.left + ((v - x0) / (x1 - x0)) * pw;
  const y = (v: number): number => MARGIN.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const y2t = y2r ? niceTicks(y2r[0], y2r[1], 5) : [0, 1];
  const y20 = y2t[0] as number;
  const y21 = y2t.at(-1) as number;
  const y2 = (v: number): number => MARGIN.top + ph - ((v - y20) / (y21 - y20)) * ph;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold" ${FONT} fill="#222">${escapeXml(o.title)}</text>`);
  for (const v of yt) {
    const py = y(v).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" y1="${py}" x2="${MARGIN.left + pw}" y2="${py}" stroke="#e3e3e3" stroke-width="1"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${py}" dy="4" text-anchor="end" font-size="12" ${FONT} fill="#333">${formatTick(v)}</text>`);
  }
  for (const v of xt) {
    const px = x(v).toFixed(1);
    parts.push(`<line x1="${px}" y1="${MARGIN.top + ph}" x2="${px}" y2="${MARGIN.top + ph + 5}" stroke="#333" stroke-width="1"/>`);
    parts.push(`<text x="${px}" y="${MARGIN.top + ph + 20}" text-anchor="middle" font-size="12" ${FONT} fill="#333">${formatTick(v)}</text>`);
  }
  if (y2r) {
    for (const v of y2t) {
      parts.push(`<text x="${MARGIN.left + pw + 8}" y="${y2(v).toFixed(1)}" dy="4" text-anchor="start" font-size="12" ${FONT} fill="#333">${formatTick(v)}</text>`);
    }
    parts.push(
      `<text transform="translate(${width - 16},${MARGIN.top + ph / 2}) rotate(90)" text-anchor="middle" font-size="13" ${FONT} fill="#333">${escapeXml(o.y2Label ?? '')}</text>`,
    );
    parts.push(`<line x1="${MARGIN.left + pw}" y1="${MARGIN.top}" x2="${MARGIN.left + pw}" y2="${MARGIN.top + ph}" stroke="#333" stroke-width="1"/>`);
  }
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + ph}" stroke="#333" stroke-width="1"/>`);
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + ph}" x2="${MARGIN.left + pw}" y2="${MARGIN.top + ph}" stroke="#333" stroke-width="1"/>`);
  parts.push(`<text x="${MARGIN.left + pw / 2}" y="${height - 12}" text-anchor="middle" font-size="13" ${FONT} fill="#333">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(18,${MARGIN.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13" ${FONT} fill="#333">${escapeXml(o.yLabel)}</text>`);
  return { width, height, x, y, y2, parts };
}

function markersSvg(f: Frame, markers: ReadonlyArray<{ x: number; label: string }> | undefined): string[] {
  const out: string[] = [];
  for (const m of markers ?? []) {
    const px = f.x(m.x).toFixed(1);
    out.push(`<line x1="${px}" y1="${MARGIN.top}" x2="${px}" y2="${f.height - MARGIN.bottom}" stroke="#555" stroke-width="1.5" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${px}" y="${MARGIN.top + 14}" dx="4" font-size="12" ${FONT} fill="#555">${escapeXml(m.label)}</text>`);
  }
  return out;
}

function wrap(f: Frame, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${escapeXml(title)}">` +
    `<title>${escapeXml(title)}</title>${f.parts.join('')}</svg>`
  );
}

/** A line (or scatter) plot over a shared x axis, with an optional right-hand y axis. */
export function linePlot(o: LinePlotOptions): string {
  const all = o.series.flatMap((s) => s.points);
  const left = o.series.filter((s) => s.axis !== 'right').flatMap((s) => s.points.map((p) => p[1]));
  const right = o.series.filter((s) => s.axis === 'right').flatMap((s) => s.points.map((p) => p[1]));
  const xr = extent(all.map((p) => p[0]).concat((o.markers ?? []).map((m) => m.x)), o.xFromZero ?? false);
  const f = axes(o, xr, extent(left, true), right.length > 0 ? extent(right, true) : null);
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const ys = s.axis === 'right' ? f.y2 : f.y;
    if (s.dots) {
      for (const [px, py] of s.points) {
        if (Number.isFinite(py)) f.parts.push(`<circle cx="${f.x(px).toFixed(1)}" cy="${ys(py).toFixed(1)}" r="3.5" fill="${color}" fill-opacity="0.8"/>`);
      }
      return;
    }
    let d = '';
    let pen = false;
    for (const [px, py] of s.points) {
      if (!Number.isFinite(py)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${f.x(px).toFixed(1)},${ys(py).toFixed(1)}`;
      pen = true;
    }
    if (d !== '') f.parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`);
  });
  f.parts.push(...markersSvg(f, o.markers));
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const lx = MARGIN.left + 12 + i * 170;
    f.parts.push(`<rect x="${lx}" y="${MARGIN.top - 20}" width="12" height="4" fill="${color}"/>`);
    f.parts.push(`<text x="${lx + 16}" y="${MARGIN.top - 15}" font-size="12" ${FONT} fill="#333">${escapeXml(s.label)}</text>`);
  });
  return wrap(f, o.title);
}

/** A histogram: bars over [x0, x1). */
export function histogramPlot(o: HistogramPlotOptions): string {
  const xs = o.bars.flatMap((b) => [b.x0, b.x1]).concat((o.markers ?? []).map((m) => m.x));
  const f = axes(o, extent(xs, true), extent(o.bars.map((b) => b.y), true), null);
  const color = o.color ?? PALETTE[0];
  for (const b of o.bars) {
    if (!(b.y > 0)) continue;
    const x0 = f.x(b.x0);
    const x1 = f.x(b.x1);
    const top = f.y(b.y);
    const bottom = f.y(0);
    f.parts.push(
      `<rect x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(0.8, x1 - x0 - 0.5).toFixed(1)}" height="${Math.max(0, bottom - top).toFixed(1)}" fill="${color}"/>`,
    );
  }
  f.parts.push(...markersSvg(f, o.markers));
  return wrap(f, o.title);
}
