/**
 * Which canvases of an element are drawn, where, and in what order.
 *
 * Every `<canvas>` inside the element (queried again each frame, so layers a
 * viewer adds or removes at run time — Guacamole's — are picked up at the next
 * frame) is a layer, unless it is hidden: `display: none` on it or an
 * ancestor, `visibility` other than visible, a zero-size box or bitmap, an
 * opacity of 0 (its own times its ancestors' inside the element), or a box
 * entirely outside the element's.
 *
 * Stacking order, the rule: each canvas gets the list of the `z-index`
 * values of its positioned ancestors with a z-index (and its own), outermost
 * first (`auto` contributes nothing); lists compare element by element, a
 * missing entry counting as 0; equal lists keep DOM order (later on top).
 * That is CSS's order for the layouts viewers use (absolutely placed layers
 * with z-indexes under one parent, as Guacamole's Display, or one canvas, as
 * noVNC). Not modelled: stacking contexts made by other properties
 * (transform, opacity, filter…) with siblings of equal z-index, negative
 * z-index inside a non-positioned parent, and clipping by overflow.
 *
 * Position and size are the laid-out box (getBoundingClientRect, so CSS
 * transforms such as Guacamole's scale() are honoured, rotation is not),
 * relative to the element's box.
 */

export interface Layer {
  canvas: HTMLCanvasElement;
  /** Box relative to the element's top-left, CSS px. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Product of the computed opacity of the canvas and its ancestors inside the element, 0..1. */
  opacity: number;
}

interface Ranked extends Layer {
  z: number[];
  order: number;
}

function compareZ(a: number[], b: number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The visible canvases inside `root`, bottom first. `box` is root's getBoundingClientRect(). */
export function collectLayers(root: Element, box: DOMRect): Layer[] {
  const out: Ranked[] = [];
  const canvases = root.getElementsByTagName('canvas');
  for (let i = 0; i < canvases.length; i++) {
    const canvas = canvases[i]!;
    if (canvas.width === 0 || canvas.height === 0) continue;
    const r = canvas.getBoundingClientRect();
    // display:none (here or above) gives an empty box; so does a zero CSS size.
    if (r.width <= 0 || r.height <= 0) continue;
    if (r.right <= box.left || r.bottom <= box.top || r.left >= box.right || r.top >= box.bottom) continue;
    const own = getComputedStyle(canvas);
    if (own.visibility !== 'visible') continue;
    let opacity = 1;
    const z: number[] = [];
    for (let el: Element | null = canvas; el && el !== root; el = el.parentElement) {
      const s = el === canvas ? own : getComputedStyle(el);
      opacity *= Number(s.opacity);
      if (s.position !== 'static' && s.zIndex !== 'auto') z.push(Number(s.zIndex));
    }
    if (!(opacity > 0)) continue;
    z.reverse();
    out.push({
      canvas,
      x: r.left - box.left,
      y: r.top - box.top,
      width: r.width,
      height: r.height,
      opacity,
      z,
      order: i,
    });
  }
  // Array.prototype.sort is stable: equal z lists keep DOM order.
  return out.sort((a, b) => compareZ(a.z, b.z));
}
