/**
 * Bundled into the compositor tests' page: a stage element holding layered
 * canvases under a CSS url() cursor, and helpers to record it with the SDK.
 * Colours are solid and far apart so they survive VP8/VP9 compression.
 */
import * as Sortie from '../../src/index.js';
import { createCompositor } from '../../src/compositor/index.js';
import { COLOURS, type SceneOptions } from './compositor-scene.js';

const css = (c: readonly number[]) => `rgb(${c.join(',')})`;

function canvas(parent: HTMLElement, w: number, h: number, style: string, fill: readonly number[]): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  c.style.cssText = `position:absolute;${style}`;
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = css(fill);
  ctx.fillRect(0, 0, w, h);
  parent.appendChild(c);
  return c;
}

/** A 16×16 cursor image, one solid colour, as a PNG data URL. */
function cursorDataUrl(): string {
  const c = document.createElement('canvas');
  c.width = 16;
  c.height = 16;
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = css(COLOURS.cursor);
  ctx.fillRect(0, 0, 16, 16);
  return c.toDataURL('image/png');
}

/**
 * The stage: `position: relative` at the page's top-left, an animated base
 * canvas filling it (solid base colour with a small moving dark square, drawn
 * by a page timer), the overlay above it (z-index 2), a hidden canvas, and the
 * url() cursor with its hotspot on the stage (inherited by the canvases).
 */
function buildScene(o: SceneOptions): void {
  document.body.style.margin = '0';
  const stage = document.createElement('div');
  stage.id = 'stage';
  stage.style.cssText = `position:relative;width:${o.width}px;height:${o.height}px;overflow:hidden;`;
  stage.style.cursor = `url(${cursorDataUrl()}) ${o.hotspot[0]} ${o.hotspot[1]}, auto`;
  document.body.appendChild(stage);
  const base = canvas(stage, o.width, o.height, 'left:0;top:0;width:100%;height:100%;z-index:1', COLOURS.base);
  const ctx = base.getContext('2d')!;
  const t0 = performance.now();
  setInterval(() => {
    const t = (performance.now() - t0) / 1000;
    ctx.fillStyle = css(COLOURS.base);
    ctx.fillRect(0, 0, o.width, o.height);
    ctx.fillStyle = '#111';
    ctx.fillRect(((Math.sin(t * 2) + 1) / 2) * (o.width - 20), o.height - 30, 20, 20);
  }, 33);
  const v = o.overlay;
  canvas(stage, v.w, v.h, `left:${v.x}px;top:${v.y}px;width:${v.w}px;height:${v.h}px;z-index:2`, COLOURS.overlay);
  if (o.hidden) {
    const h = o.hidden;
    canvas(
      stage,
      h.w,
      h.h,
      `left:${h.x}px;top:${h.y}px;width:${h.w}px;height:${h.h}px;z-index:9;visibility:hidden`,
      COLOURS.hidden,
    );
  }
}

/** Adds a canvas of COLOURS.late at run time, on top (as Guacamole adds layers). */
function addLateLayer(box: { x: number; y: number; w: number; h: number }): { before: number; after: number } {
  const before = sinceStart();
  const stage = document.getElementById('stage')!;
  const wrapper = document.createElement('div');
  wrapper.style.cssText = 'position:absolute;left:0;top:0;z-index:5';
  stage.appendChild(wrapper);
  canvas(wrapper, box.w, box.h, `left:${box.x}px;top:${box.y}px;width:${box.w}px;height:${box.h}px`, COLOURS.late);
  // Page ms since recording started, just before and just after: the frames around it are read from these.
  return { before, after: sinceStart() };
}

/** Resizes the stage (its base canvas follows at 100%). */
function resizeStage(width: number, height: number): { before: number; after: number } {
  const before = sinceStart();
  const stage = document.getElementById('stage')!;
  stage.style.width = `${width}px`;
  stage.style.height = `${height}px`;
  return { before, after: sinceStart() };
}

let recorder: Sortie.Recorder | null = null;
let startedAt = 0;

/**
 * Frames the compositor drew: each begins with one fillRect of the whole capture canvas (the only 2D context made
 * with `alpha: false` here), counted from capture to stop() against the frames the file holds.
 */
let framesDrawn = 0;
const getContext = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement, ...args: unknown[]) {
  const ctx = (getContext as (...a: unknown[]) => RenderingContext | null).apply(this, args);
  const opts = args[1] as { alpha?: boolean } | undefined;
  if (ctx instanceof CanvasRenderingContext2D && opts?.alpha === false) {
    const fillRect = ctx.fillRect.bind(ctx);
    ctx.fillRect = (x, y, w, h) => {
      if (x === 0 && y === 0 && w === this.width && h === this.height) framesDrawn++;
      fillRect(x, y, w, h);
    };
  }
  return ctx;
} as typeof HTMLCanvasElement.prototype.getContext;
let framesAtCapture = 0;
const visibility: { at: number; state: DocumentVisibilityState }[] = [];
document.addEventListener('visibilitychange', () =>
  visibility.push({ at: performance.now() - startedAt, state: document.visibilityState }),
);

/**
 * Starts recording the stage; resolves once recording. Times below are page ms since capture began (the
 * recorder's 'capture', as MediaRecorder starts: the video's time 0), not since start() resolved, which a
 * loaded machine confirms seconds later.
 */
async function startStage(opts: Partial<Sortie.RecorderOptions> & { sessionId: string }): Promise<void> {
  const w = window as unknown as { testToken(): Promise<string> };
  recorder = Sortie.createRecorder({
    source: document.getElementById('stage')!,
    getToken: () => w.testToken(),
    ...opts,
  });
  recorder.on('capture', () => {
    startedAt = performance.now();
    framesAtCapture = framesDrawn;
  });
  await recorder.start();
}

/** Stops; the ready recording, and the page's own measure of how long it recorded (capture to stop()). */
async function stopStage(): Promise<{
  recording: Sortie.Recording;
  wallMs: number;
  visibility: typeof visibility;
  framesDrawn: number;
}> {
  const wallMs = performance.now() - startedAt;
  const drawn = framesDrawn - framesAtCapture;
  const recording = await recorder!.stop();
  return { recording, wallMs, visibility, framesDrawn: drawn };
}

/** Page ms since recording started. */
function sinceStart(): number {
  return performance.now() - startedAt;
}

/** What paces a compositor's frames here (worker expected under the test page's default CSP: none). */
function tickSourceHere(): string {
  const c = createCompositor(document.getElementById('stage')!, { frameRate: 5 });
  const s = c.tickSource;
  c.stop();
  return s;
}

/** The page's visibility now. */
function visibilityNow(): DocumentVisibilityState {
  return document.visibilityState;
}

let direct: ReturnType<typeof createCompositor> | null = null;

/** Replaces the page with `html` (which holds #stage) and makes a compositor of #stage, ticking once a second. */
function composeHtml(html: string, options: { cursor?: boolean } = {}): void {
  direct?.stop();
  document.body.style.margin = '0';
  document.body.innerHTML = html;
  // Solid fills from data-fill attributes, so the HTML alone describes the scene.
  for (const c of document.querySelectorAll<HTMLCanvasElement>('canvas[data-fill]')) {
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = c.dataset.fill!;
    ctx.fillRect(0, 0, c.width, c.height);
  }
  direct = createCompositor(document.getElementById('stage')!, { frameRate: 1, ...options });
}

/** Draws a frame now and reads the capture canvas at each point: [r, g, b]. */
function sampleFrame(points: [number, number][]): number[][] {
  direct!.drawFrame();
  const ctx = direct!.canvas.getContext('2d')!;
  return points.map(([x, y]) => [...ctx.getImageData(x, y, 1, 1).data.slice(0, 3)]);
}

type AdapterPointer = {
  x: number;
  y: number;
  visible: boolean;
  image?: 'green16';
  hotspotX?: number;
  hotspotY?: number;
};

/** The adapter's pointer on the direct compositor; `image` 'green16' is a 16×16 green canvas. */
function pointerOnDirect(p: AdapterPointer | null): void {
  if (!p) return direct!.setPointer(null);
  let image: HTMLCanvasElement | undefined;
  if (p.image === 'green16') {
    image = document.createElement('canvas');
    image.width = image.height = 16;
    const ctx = image.getContext('2d')!;
    ctx.fillStyle = 'rgb(0,255,0)';
    ctx.fillRect(0, 0, 16, 16);
  }
  direct!.setPointer({ ...p, image });
}

/** The adapter's pointer with its image as a URL: at (150, 50), hotspot (0, 0). */
function pointerUrlOnDirect(url: string): void {
  direct!.setPointer({ x: 150, y: 50, visible: true, image: url });
}

/** What paces the direct compositor's frames after `ms` (a CSP refusal of the worker may arrive as a late error event). */
async function directTickSourceAfter(ms: number): Promise<string> {
  await new Promise((r) => setTimeout(r, ms));
  return direct!.tickSource;
}

Object.assign(window, {
  directTickSourceAfter,
  pointerUrlOnDirect,
  composeHtml,
  sampleFrame,
  pointerOnDirect,
  visibilityNow,
  buildScene,
  addLateLayer,
  resizeStage,
  startStage,
  stopStage,
  sinceStart,
  tickSourceHere,
});
