/**
 * Small inline-SVG charts for the overview: an area chart, stacked bars, and
 * bar lists. No library: a few hundred bytes of geometry each. Every chart is
 * an image with a sentence for screen readers (aria-label) and a <title> on
 * each mark for the pointer; the figures are also in the text around them.
 */
const SVG = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: (SVGElement | string)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const W = 600;
const H = 180;
const PAD = { left: 8, right: 8, top: 12, bottom: 22 };

function frame(label: string): SVGSVGElement {
  return s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': label,
    class: 'chart',
  });
}

/** Day labels under the plot: the first, the middle and the last. */
function dayTicks(svg: SVGSVGElement, days: string[], x: (i: number) => number): void {
  const picks = days.length > 2 ? [0, Math.floor((days.length - 1) / 2), days.length - 1] : days.map((_, i) => i);
  for (const i of picks) {
    const anchor = i === 0 ? 'start' : i === days.length - 1 ? 'end' : 'middle';
    svg.append(
      s('text', { x: x(i), y: H - 6, 'text-anchor': anchor, class: 'chart-tick' }, days[i]!.slice(5).replace('-', '/')),
    );
  }
}

/** An area chart of one value per day (storage held). */
export function areaChart(
  days: string[],
  values: number[],
  opts: { label: string; format: (v: number) => string },
): SVGSVGElement {
  const svg = frame(opts.label);
  const max = Math.max(1, ...values);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (days.length <= 1 ? iw / 2 : (i * iw) / (days.length - 1));
  const y = (v: number) => PAD.top + ih - (v / max) * ih;
  const line = values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const base = PAD.top + ih;
  svg.append(
    s('line', { x1: PAD.left, x2: W - PAD.right, y1: base, y2: base, class: 'chart-axis' }),
    s('path', { d: `${line} L${x(values.length - 1)},${base} L${x(0)},${base} Z`, class: 'chart-area' }),
    s('path', { d: line, class: 'chart-line' }),
    s('text', { x: PAD.left, y: PAD.top - 2, class: 'chart-tick' }, opts.format(max)),
  );
  values.forEach((v, i) =>
    svg.append(
      s('circle', { cx: x(i), cy: y(v), r: 3, class: 'chart-dot' }, s('title', {}, `${days[i]}: ${opts.format(v)}`)),
    ),
  );
  dayTicks(svg, days, x);
  return svg;
}

export interface Series {
  key: string;
  label: string;
  /** A CSS class giving the fill (chart-ready, chart-failed, …). */
  className: string;
}

/** Stacked bars, one per day, one segment per series. */
export function stackedBars(
  days: string[],
  rows: Record<string, number>[],
  series: Series[],
  label: string,
): SVGSVGElement {
  const svg = frame(label);
  const totals = rows.map((r) => series.reduce((a, se) => a + (r[se.key] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const slot = iw / Math.max(1, days.length);
  const bw = Math.max(1, slot * 0.7);
  const x = (i: number) => PAD.left + i * slot + slot / 2;
  const base = PAD.top + ih;
  svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: base, y2: base, class: 'chart-axis' }));
  rows.forEach((r, i) => {
    let top = base;
    for (const se of series) {
      const v = r[se.key] ?? 0;
      if (!v) continue;
      const hgt = (v / max) * ih;
      top -= hgt;
      svg.append(
        s(
          'rect',
          { x: x(i) - bw / 2, y: top, width: bw, height: hgt, class: se.className },
          s('title', {}, `${days[i]}: ${v} ${se.label.toLowerCase()}`),
        ),
      );
    }
  });
  svg.append(s('text', { x: PAD.left, y: PAD.top - 2, class: 'chart-tick' }, String(max)));
  dayTicks(svg, days, x);
  return svg;
}

/** A ring showing one share (the failure rate). */
export function ring(share: number, label: string): SVGSVGElement {
  const r = 40;
  const c = 2 * Math.PI * r;
  const part = Math.max(0, Math.min(1, share));
  return s(
    'svg',
    { viewBox: '0 0 100 100', role: 'img', 'aria-label': label, class: 'chart-ring' },
    s('circle', { cx: 50, cy: 50, r, class: 'ring-track' }),
    s('circle', {
      cx: 50,
      cy: 50,
      r,
      class: 'ring-value',
      'stroke-dasharray': `${(part * c).toFixed(2)} ${c.toFixed(2)}`,
      transform: 'rotate(-90 50 50)',
    }),
    s('text', { x: 50, y: 55, 'text-anchor': 'middle', class: 'ring-text' }, `${(part * 100).toFixed(1)}%`),
  );
}

/** A list of labelled horizontal bars (top reasons, largest users): a list, so it reads as one. */
export function barList(
  items: { label: string; value: number; text: string; detail?: string }[],
  label: string,
): HTMLElement {
  const max = Math.max(1, ...items.map((i) => i.value));
  const ol = document.createElement('ol');
  ol.className = 'bar-list';
  ol.setAttribute('aria-label', label);
  for (const it of items) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'bar-label';
    name.textContent = it.label;
    if (it.detail) name.title = it.detail;
    const value = document.createElement('span');
    value.className = 'bar-value';
    value.textContent = it.text;
    const bar = s('svg', { viewBox: '0 0 100 6', preserveAspectRatio: 'none', class: 'bar', 'aria-hidden': 'true' });
    bar.append(s('rect', { x: 0, y: 0, width: Math.max(0.5, (it.value / max) * 100), height: 6 }));
    li.append(name, value, bar);
    ol.append(li);
  }
  return ol;
}
