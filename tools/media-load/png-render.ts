import { Resvg } from '@resvg/resvg-js';

/** The 8-byte signature every PNG file starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Rasterises one of plot-svg's SVGs to PNG (resvg, system fonts), on white,
 * scaled to `width` pixels (default: twice the SVG's own width, sharp in a
 * README on a high-DPI screen).
 */
export function renderPng(svg: string, options: { width?: number } = {}): Buffer {
  const own = /<svg[^>]*\swidth="(\d+(?:\.\d+)?)"/.exec(svg);
  const width = options.width ?? (own ? Math.round(Number(own[1]) * 2) : 1440);
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'width', value: width },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
