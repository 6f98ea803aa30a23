/**
 * The compositor: draws an element's visible canvases (layers.ts) and the
 * pointer (pointer.ts) into one capture canvas, on a clock that keeps going
 * in a hidden tab (ticker.ts), and hands out that canvas's MediaStream.
 *
 * The capture canvas keeps the size the element had at start (rounded up to
 * even numbers, which video encoders want). When the element is resized mid-
 * recording (the remote desktop changed resolution, the window was resized),
 * each frame scales the element's content to fit that size, centred, with
 * black bars (letterboxing): one encoder, one file that plays to the end, and
 * nothing cut off. What it costs: after a resize the picture is scaled (a
 * larger desktop is recorded at a lower resolution than it is shown).
 *
 * Frames: captureStream(0) and one requestFrame() per tick (in Firefox, a
 * stream that captures each change), so the stream holds exactly the frames
 * drawn, at the ticker's pace; the encoder stamps
 * them with wall-clock time, so the recording's length is wall time whether
 * the tab is visible or not.
 */
import { collectLayers } from './layers.js';
import { PointerTracker, type PointerInput } from './pointer.js';
import { startTicker, type StopTicker, type TickSource } from './ticker.js';

export type { PointerInput } from './pointer.js';
export type { TickSource } from './ticker.js';

export interface CompositorOptions {
  /** Frames per second drawn and captured. Default 15. */
  frameRate?: number;
  /** Draw the pointer (DOM-tracked, or from setPointer). Default true. */
  cursor?: boolean;
  /** Size of the capture canvas in px. Default: the element's CSS size at start. */
  width?: number;
  height?: number;
  /** Fill behind the layers and of the letterbox bars. Default '#000'. */
  background?: string;
}

export interface Compositor {
  /** The capture canvas (not in the document). */
  readonly canvas: HTMLCanvasElement;
  /** Its video: one frame per tick. */
  readonly stream: MediaStream;
  /** What paces the frames: a Worker timer, or the page's timer where a Worker cannot be made. */
  readonly tickSource: TickSource;
  /** Overrides the DOM-tracked pointer until called with null. */
  setPointer(p: PointerInput | null): void;
  /** Draws one frame now (what every tick does before asking the stream for a frame). */
  drawFrame(): void;
  /** Stops the ticks, the pointer listeners and the stream's track. */
  stop(): void;
}

/** Gecko (Firefox): the only engine with `HTMLMediaElement.mozCaptureStream`. */
const isGecko = () =>
  typeof HTMLMediaElement !== 'undefined' && 'mozCaptureStream' in (HTMLMediaElement.prototype as object);

/** Rounds up to an even number of at least 2 (VP8/VP9 and H.264 want even sizes). */
const even = (n: number) => Math.max(2, Math.ceil(n / 2) * 2);

export function createCompositor(element: HTMLElement, options: CompositorOptions = {}): Compositor {
  const box = element.getBoundingClientRect();
  const width = even(options.width ?? box.width);
  const height = even(options.height ?? box.height);
  if (options.width === undefined && (box.width <= 0 || box.height <= 0)) {
    throw new Error('The element to record has no size (is it laid out and displayed?).');
  }
  const frameRate = options.frameRate ?? 15;
  const background = options.background ?? '#000';
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  // alpha: false lets the browser skip blending the capture canvas itself.
  const ctx = canvas.getContext('2d', { alpha: false })!;
  const pointer = options.cursor === false ? null : new PointerTracker(element);

  const drawFrame = () => {
    const b = element.getBoundingClientRect();
    ctx.globalAlpha = 1;
    ctx.fillStyle = background;
    ctx.fillRect(0, 0, width, height);
    if (b.width <= 0 || b.height <= 0) return;
    let scale = Math.min(width / b.width, height / b.height);
    // The size at start (up to the even rounding): draw 1:1, not resampled by a hair.
    if (Math.abs(b.width - width) <= 1 && Math.abs(b.height - height) <= 1) scale = 1;
    const ox = Math.floor((width - b.width * scale) / 2);
    const oy = Math.floor((height - b.height * scale) / 2);
    for (const l of collectLayers(element, b)) {
      ctx.globalAlpha = Math.min(1, l.opacity);
      ctx.drawImage(l.canvas, ox + l.x * scale, oy + l.y * scale, l.width * scale, l.height * scale);
    }
    ctx.globalAlpha = 1;
    pointer?.draw(ctx, b, scale, ox, oy);
  };

  let stream: MediaStream;
  let requestFrame = () => {};
  if (isGecko()) {
    // Firefox records about two frames in three of a captureStream(0) + requestFrame() stream, and of a
    // captureStream(frameRate) one, whatever the rate; a stream without a rate captures each change of the canvas
    // and records every frame drawn. The ticker draws at the frame rate, so that is the stream's rate too.
    stream = canvas.captureStream();
  } else {
    // captureStream(0) + requestFrame(): a frame exactly when one is drawn. Without requestFrame (neither Chromium
    // nor Firefox), a stream at the frame rate captures each drawn frame as the canvas changes.
    const probe = canvas.captureStream(0);
    const probeTrack = probe.getVideoTracks()[0] as (MediaStreamTrack & { requestFrame?: () => void }) | undefined;
    stream = probe;
    if (probeTrack?.requestFrame) {
      requestFrame = () => probeTrack.requestFrame!();
    } else {
      probeTrack?.stop();
      stream = canvas.captureStream(frameRate);
    }
  }

  let tickSource: TickSource = 'worker';
  drawFrame();
  requestFrame();
  let stopTicker: StopTicker | null = startTicker(
    frameRate,
    () => {
      drawFrame();
      requestFrame();
    },
    (s) => (tickSource = s),
  );

  return {
    canvas,
    stream,
    get tickSource() {
      return tickSource;
    },
    setPointer: (p) => pointer?.set(p),
    drawFrame,
    stop() {
      stopTicker?.();
      stopTicker = null;
      pointer?.dispose();
      stream.getTracks().forEach((t) => t.stop());
    },
  };
}
