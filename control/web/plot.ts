/** A small line plot (SVG drawn through the DOM: no library, nothing the CSP forbids). */
const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  label: string;
  values: number[];
  colour: string;
}

export class LinePlot {
  readonly element: SVGSVGElement;
  readonly #width: number;
  readonly #height: number;
  readonly #lines: SVGPolylineElement[] = [];
  readonly #max: SVGTextElement;

  constructor(title: string, series: ReadonlyArray<Pick<Series, 'label' | 'colour'>>, width = 360, height = 90) {
    this.#width = width;
    this.#height = height;
    this.element = document.createElementNS(SVG, 'svg');
    this.element.setAttribute('viewBox', `0 0 ${width} ${height + 16}`);
    this.element.setAttribute('width', String(width));
    this.element.setAttribute('class', 'plot');
    const caption = document.createElementNS(SVG, 'text');
    caption.setAttribute('x', '2');
    caption.setAttribute('y', String(height + 13));
    caption.textContent = `${title}: ${series.map((s) => s.label).join(', ')}`;
    this.#max = document.createElementNS(SVG, 'text');
    this.#max.setAttribute('x', String(width - 2));
    this.#max.setAttribute('y', '10');
    this.#max.setAttribute('text-anchor', 'end');
    const frame = document.createElementNS(SVG, 'rect');
    frame.setAttribute('width', String(width));
    frame.setAttribute('height', String(height));
    frame.setAttribute('fill', 'none');
    frame.setAttribute('stroke', '#d8dce3');
    this.element.append(frame, caption, this.#max);
    for (const s of series) {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke', s.colour);
      line.setAttribute('stroke-width', '1.5');
      this.#lines.push(line);
      this.element.append(line);
    }
  }

  /** Redraws every series over the same scale (0 to the largest value shown). */
  draw(values: ReadonlyArray<readonly number[]>, capacity: number): void {
    const max = Math.max(1e-9, ...values.flat());
    this.#max.textContent = `max ${max < 10 ? max.toFixed(2) : max.toFixed(0)}`;
    values.forEach((v, i) => {
      const points = v.map((y, x) => `${((x / Math.max(1, capacity - 1)) * this.#width).toFixed(1)},${(this.#height - (y / max) * (this.#height - 4)).toFixed(1)}`);
      this.#lines[i]?.setAttribute('points', points.join(' '));
    });
  }
}
