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
 */
export function recordThumbnails(recorder: Recorder, options: ThumbnailOptions = {}): () => void {
  const o = { ...THUMBNAIL_DEFAULTS, ...options };
  const canvas = document.createElement('canvas');
  canvas.width = o.width;
  canvas.height = o.height;
  const ctx = canvas.getContext('2d');
  let timer: ReturnType<typeof setInterval> | undefined;
  let video: HTMLVideoElement | null = null;

  const shoot = (src: Drawable) => {
    const [w, h] = sizeOf(src);
    if (!ctx || recorder.state !== 'recording' || !w || !h) return;
    const offsetMs = recorder.progress.durationMs;
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

  const begin = () => {
    end();
    const src = o.source ?? recorder.captureSource;
    if (!src) return;
    let drawable: Drawable;
    if (src instanceof MediaStream) {
      // A stream is drawn through a <video> that is never shown; muted, so it may play without a gesture.
      const v = (video = document.createElement('video'));
      v.muted = true;
      v.playsInline = true;
      v.srcObject = src;
      void v.play().catch(() => {});
      // The first frame, the poster, once the stream has one.
      v.addEventListener('loadeddata', () => shoot(v), { once: true });
      drawable = v;
    } else {
      drawable = src;
      shoot(drawable);
    }
    timer = setInterval(() => shoot(drawable), o.intervalMs);
  };

  const off = recorder.on('statechange', ({ state, previous }) => {
    if (state === 'recording' && previous === 'starting') begin();
    else if (state !== 'recording' && state !== 'paused') end();
  });
  if (recorder.state === 'recording') begin();
  return () => {
    off();
    end();
  };
}
