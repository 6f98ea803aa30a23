/**
 * The pointer drawn into each frame: where it is over the element and what
 * it looks like.
 *
 * From the DOM (the default): pointermove/pointerdown on the element give the
 * position and the element under the pointer; pointerleave hides it (a
 * pointer outside the element is not drawn; before the first move it is not
 * known, so not drawn either). The look is the computed CSS `cursor` of the
 * element under the pointer, read every frame because viewers change it
 * without the pointer moving (noVNC sets the remote cursor as
 * `url(data:…) x y, auto` on its canvas): a `url(…)` cursor is drawn as its
 * image with its hotspot at the pointer; `none` draws nothing; any keyword
 * draws an arrow (as does a url image that has not loaded, or failed to).
 *
 * From an adapter: setPointer({ x, y, visible, image, hotspotX, hotspotY })
 * overrides the DOM until setPointer(null), for viewers that know the remote
 * pointer better than the DOM does (Guacamole's cursor layer, a remote
 * pointer that moves by itself).
 */

/** The remote pointer, as an adapter hands it over. */
export interface PointerInput {
  /** Position of the hotspot in the element's CSS px, from its top-left corner. */
  x: number;
  y: number;
  /** False hides the pointer. */
  visible: boolean;
  /** The pointer's image: an image, canvas or bitmap, or a URL (data: URLs too). Default: an arrow. */
  image?: CanvasImageSource | string | null;
  /** The image's hotspot, in its own px. Default 0, 0. */
  hotspotX?: number;
  hotspotY?: number;
}

type Look = { kind: 'none' } | { kind: 'arrow' } | { kind: 'image'; img: HTMLImageElement; hx: number; hy: number };

const ARROW: Look = { kind: 'arrow' };
const NONE: Look = { kind: 'none' };
/** Distinct cursors remembered; noVNC makes a new data URL per remote cursor shape, so the cache is bounded. */
const CACHE_LIMIT = 32;

const URL_CURSOR = /^url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)\s]*))\s*\)\s*(?:(-?[\d.]+)\s+(-?[\d.]+))?/;

export class PointerTracker {
  private inside = false;
  private clientX = 0;
  private clientY = 0;
  private target: Element | null = null;
  private override: PointerInput | null = null;
  private readonly looks = new Map<string, Look>();
  private readonly images = new Map<string, HTMLImageElement>();
  private readonly detach: () => void;

  constructor(private readonly root: HTMLElement) {
    const onMove = (e: PointerEvent) => {
      this.inside = true;
      this.clientX = e.clientX;
      this.clientY = e.clientY;
      this.target = e.target instanceof Element ? e.target : root;
    };
    const onLeave = () => {
      this.inside = false;
    };
    const opts = { passive: true } as const;
    root.addEventListener('pointermove', onMove, opts);
    root.addEventListener('pointerdown', onMove, opts);
    root.addEventListener('pointerleave', onLeave, opts);
    this.detach = () => {
      root.removeEventListener('pointermove', onMove);
      root.removeEventListener('pointerdown', onMove);
      root.removeEventListener('pointerleave', onLeave);
    };
  }

  set(p: PointerInput | null): void {
    this.override = p;
  }

  dispose(): void {
    this.detach();
    this.looks.clear();
    this.images.clear();
  }

  /**
   * Draws the pointer into a frame: `box` is the element's box now, `scale`,
   * `ox`, `oy` map element px to frame px (as the layers were drawn).
   */
  draw(ctx: CanvasRenderingContext2D, box: DOMRect, scale: number, ox: number, oy: number): void {
    let x: number;
    let y: number;
    let look: Look;
    const o = this.override;
    if (o) {
      if (!o.visible) return;
      x = o.x;
      y = o.y;
      if (o.image == null) look = ARROW;
      else if (typeof o.image === 'string') look = this.urlLook(o.image, o.hotspotX ?? 0, o.hotspotY ?? 0);
      else {
        drawImageAt(ctx, o.image, ox + x * scale, oy + y * scale, o.hotspotX ?? 0, o.hotspotY ?? 0, scale);
        return;
      }
    } else {
      if (!this.inside) return;
      x = this.clientX - box.left;
      y = this.clientY - box.top;
      const el = this.target?.isConnected ? this.target : this.root;
      look = this.cssLook(getComputedStyle(el).cursor);
    }
    const px = ox + x * scale;
    const py = oy + y * scale;
    if (look.kind === 'none') return;
    if (look.kind === 'image' && look.img.complete && look.img.naturalWidth > 0) {
      drawImageAt(ctx, look.img, px, py, look.hx, look.hy, scale);
      return;
    }
    drawArrow(ctx, px, py, scale);
  }

  /** The look of a computed `cursor` value, parsed once per distinct value. */
  private cssLook(css: string): Look {
    let look = this.looks.get(css);
    if (look) return look;
    const m = URL_CURSOR.exec(css.trim());
    if (m) {
      const url = (m[1] ?? m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
      look = this.urlLook(url, Number(m[4] ?? 0), Number(m[5] ?? 0));
    } else {
      look = css.trim() === 'none' ? NONE : ARROW;
    }
    if (this.looks.size >= CACHE_LIMIT) this.looks.clear();
    this.looks.set(css, look);
    return look;
  }

  private urlLook(url: string, hx: number, hy: number): Look {
    let img = this.images.get(url);
    if (!img) {
      if (this.images.size >= CACHE_LIMIT) this.images.clear();
      img = new Image();
      img.src = url;
      this.images.set(url, img);
    }
    return { kind: 'image', img, hx, hy };
  }
}

function drawImageAt(
  ctx: CanvasRenderingContext2D,
  img: CanvasImageSource,
  px: number,
  py: number,
  hx: number,
  hy: number,
  scale: number,
): void {
  const w = 'naturalWidth' in img ? img.naturalWidth : (img as { width: number }).width;
  const h = 'naturalHeight' in img ? img.naturalHeight : (img as { height: number }).height;
  if (!(w > 0 && h > 0)) return;
  ctx.drawImage(img, px - hx * scale, py - hy * scale, w * scale, h * scale);
}

/** The usual arrow, tip at (px, py), 12×19 CSS px: white with a black outline, readable on any desktop. */
function drawArrow(ctx: CanvasRenderingContext2D, px: number, py: number, scale: number): void {
  ctx.save();
  ctx.translate(px, py);
  ctx.scale(scale, scale);
  ctx.beginPath();
  ctx.moveTo(0, 0);
  ctx.lineTo(0, 17);
  ctx.lineTo(4, 13);
  ctx.lineTo(7, 19);
  ctx.lineTo(9, 18);
  ctx.lineTo(6, 12);
  ctx.lineTo(12, 12);
  ctx.closePath();
  ctx.fillStyle = '#fff';
  ctx.fill();
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#000';
  ctx.stroke();
  ctx.restore();
}
