/**
 * @sortie/recorder/thumbnails — small JPEGs of the recording while it
 * records (docs/API.md "Markers and thumbnails"): every `intervalMs` the
 * capture is drawn into a 160×90 canvas (letterboxed) and PUT at its offset
 * in the recording, one request per thumbnail, so a tab that closes keeps the
 * ones sent. The first, at the start, is the recording's poster.
 *
 * Its own entry point so that pages without thumbnails do not pay for it
 * (the core stays under its size budget). What is drawn: the recorder's
 * capture source — the canvas, an element's capture canvas (the compositor),
 * or a MediaStream through a hidden, muted <video> — or `options.source`.
 */
import type { Recorder } from './recorder.js';

export interface ThumbnailOptions {
  /** Time between thumbnails, ms of recording. Default 10 000. */
  intervalMs?: number;
  /** Size of each JPEG in px. Default 160 × 90. */
  width?: number;
  height?: number;
  /** JPEG quality, 0–1. Default 0.7 (a 160×90 picture is then 3–8 KB). */
  quality?: number;
  /** What to draw instead of the recorder's capture source. */
  source?: HTMLCanvasElement | HTMLVideoElement | MediaStream;
}

export const THUMBNAIL_DEFAULTS = { intervalMs: 10_000, width: 160, height: 90, quality: 0.7 } as const;

type Drawable = HTMLCanvasElement | HTMLVideoElement;

function sizeOf(src: Drawable): [number, number] {
  return src instanceof HTMLVideoElement ? [src.videoWidth, src.videoHeight] : [src.width, src.height];
}

/**
 * Takes thumbnails of every recording `recorder` makes from now on, while it
 * records (none while paused). Returns a function that stops it. Thumbnails
 * that cannot be sent are dropped: they never affect the recording.
 *
 * The first, the poster, is the recording's first frame: taken as capture
 * begins (the `capture` event, offset 0), not when the browser later confirms
 * it, which on a busy machine is seconds into the video. A MediaStream is
 * played into its hidden <video> from `starting` on, so that it has a frame by
 * then; if it has none yet, the poster is its first frame, at that frame's offset.
 */
export function recordThumbnails(recorder: Recorder, options: ThumbnailOptions = {}): () => void {
  const o = { ...THUMBNAIL_DEFAULTS, ...options };
  const canvas = document.createElement('canvas');
  canvas.width = o.width;
  canvas.height = o.height;
  const ctx = canvas.getContext('2d');
  let timer: ReturnType<typeof setInterval> | undefined;
  let video: HTMLVideoElement | null = null;

  const shoot = (src: Drawable, offsetMs = recorder.progress.durationMs) => {
    const [w, h] = sizeOf(src);
    if (!ctx || !(recorder.state === 'recording' || recorder.state === 'starting') || !w || !h) return;
    const scale = Math.min(o.width / w, o.height / h);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, o.width, o.height);
    ctx.drawImage(src, (o.width - w * scale) / 2, (o.height - h * scale) / 2, w * scale, h * scale);
    canvas.toBlob(
      (jpeg) => jpeg && void recorder.putThumbnail(offsetMs, jpeg).catch(() => {}),
      'image/jpeg',
      o.quality,
    );
  };

  const end = () => {
    clearInterval(timer);
    timer = undefined;
    if (video) video.srcObject = null;
    video = null;
  };

  /** A hidden, muted <video> playing `stream` (muted, so it may play without a gesture). */
  const player = (stream: MediaStream): HTMLVideoElement => {
    if (video?.srcObject === stream) return video;
    if (video) video.srcObject = null;
    const v = (video = document.createElement('video'));
    v.muted = true;
    v.playsInline = true;
    v.srcObject = stream;
    void v.play().catch(() => {});
    return v;
  };

  /** Starts shooting: at capture, the poster at offset 0; attached mid-recording, now at the current offset. */
  const begin = (atCapture: boolean) => {
    clearInterval(timer);
    const first = atCapture ? 0 : undefined;
    const src = o.source ?? recorder.captureSource;
    if (!src) return;
    let drawable: Drawable;
    if (src instanceof MediaStream) {
      const v = player(src);
      if (v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) shoot(v, first);
      else v.addEventListener('loadeddata', () => shoot(v), { once: true });
      drawable = v;
    } else {
      drawable = src;
      shoot(drawable, first);
    }
    timer = setInterval(() => shoot(drawable), o.intervalMs);
  };

  const offCapture = recorder.on('capture', () => begin(true));
  const offState = recorder.on('statechange', ({ state }) => {
    if (state === 'starting') {
      // Known this early only for a MediaStream (a canvas or element is drawn directly at capture).
      const src = o.source ?? recorder.captureSource;
      if (src instanceof MediaStream) player(src);
    } else if (state !== 'recording' && state !== 'paused') end();
  });
  if (recorder.state === 'recording') begin(false);
  return () => {
    offCapture();
    offState();
    end();
  };
}
