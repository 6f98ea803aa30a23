/**
 * Bundled into bench/compositor.ts's page: a 1920×1080 stage with three
 * canvas layers and a url() cursor, the compositor recording it, and a
 * baseline that copies one 1920×1080 canvas per frame.
 */
import { collectLayers, createCompositor } from '../src/compositor/index.js';

const W = 1920;
const H = 1080;

function layer(stage: HTMLElement, w: number, h: number, style: string, paint: (c: CanvasRenderingContext2D) => void) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  c.style.cssText = `position:absolute;${style}`;
  paint(c.getContext('2d')!);
  stage.appendChild(c);
  return c;
}

/** Desktop-like content: a gradient, text, boxes; redrawn a little each frame so nothing is cached as still. */
function build(): { stage: HTMLElement; base: HTMLCanvasElement; animate: () => void } {
  document.body.style.margin = '0';
  const stage = document.createElement('div');
  stage.style.cssText = `position:relative;width:${W}px;height:${H}px;overflow:hidden`;
  const cursor = document.createElement('canvas');
  cursor.width = cursor.height = 24;
  const cc = cursor.getContext('2d')!;
  cc.fillStyle = '#0f0';
  cc.fillRect(0, 0, 24, 24);
  stage.style.cursor = `url(${cursor.toDataURL()}) 4 4, auto`;
  document.body.appendChild(stage);
  const base = layer(stage, W, H, 'left:0;top:0;z-index:0', (c) => {
    const g = c.createLinearGradient(0, 0, W, H);
    g.addColorStop(0, '#234');
    g.addColorStop(1, '#789');
    c.fillStyle = g;
    c.fillRect(0, 0, W, H);
    c.fillStyle = '#fff';
    c.font = '16px monospace';
    for (let y = 20; y < H; y += 20) c.fillText(`line ${y} of a remote desktop's text, drawn once`, 10, y);
  });
  // Guacamole-like: child layers in positioned wrappers with z-index and opacity.
  const wrap = document.createElement('div');
  wrap.style.cssText = 'position:absolute;left:0;top:0;z-index:1;opacity:0.9';
  stage.appendChild(wrap);
  layer(wrap, 800, 600, 'left:300px;top:200px', (c) => {
    c.fillStyle = '#c33';
    c.fillRect(0, 0, 800, 600);
  });
  const top = layer(stage, 300, 200, 'left:1400px;top:700px;z-index:2', (c) => {
    c.fillStyle = '#3c3';
    c.fillRect(0, 0, 300, 200);
  });
  const bc = base.getContext('2d')!;
  const tc = top.getContext('2d')!;
  let n = 0;
  const animate = () => {
    n++;
    bc.fillStyle = `hsl(${n % 360} 50% 50%)`;
    bc.fillRect((n * 7) % (W - 100), 500, 100, 100);
    tc.fillStyle = `hsl(${(n * 3) % 360} 50% 50%)`;
    tc.fillRect(0, 0, 50, 50);
  };
  return { stage, base, animate };
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { median: q(0.5), p95: q(0.95), max: s[s.length - 1]!, n: s.length };
}

const nextTick = (ms: number) => new Promise((r) => setTimeout(r, ms));

let scene: ReturnType<typeof build> | null = null;

const rec = (stream: MediaStream) => {
  const r = new MediaRecorder(stream, { mimeType: 'video/webm;codecs=vp9', videoBitsPerSecond: 1_500_000 });
  r.start(1000);
  return r;
};

/**
 * `frames` frames of one kind, timed on the main thread (draw + requestFrame),
 * at 15 fps, with a MediaRecorder encoding the stream as a recording would.
 * 'baseline': one canvas copied whole into a 1920×1080 capture canvas.
 * 'compositor': the element's three layers and the pointer; its own ticker
 * runs at 1 fps meanwhile (not timed).
 */
async function run(kind: 'baseline' | 'compositor', frames: number) {
  scene ??= build();
  const { stage, base, animate } = scene;
  const times: number[] = [];
  let draw: () => void;
  let stream: MediaStream;
  let stop: () => void;
  let tickSource = '';
  if (kind === 'baseline') {
    const cap = document.createElement('canvas');
    cap.width = W;
    cap.height = H;
    const ctx = cap.getContext('2d', { alpha: false })!;
    stream = cap.captureStream(0);
    draw = () => ctx.drawImage(base, 0, 0);
    stop = () => stream.getTracks().forEach((t) => t.stop());
  } else {
    const c = createCompositor(stage, { frameRate: 1 });
    stream = c.stream;
    draw = c.drawFrame;
    stop = c.stop;
    tickSource = c.tickSource;
  }
  const track = stream.getVideoTracks()[0] as MediaStreamTrack & { requestFrame(): void };
  const r = rec(stream);
  for (let i = 0; i < frames; i++) {
    animate();
    const t0 = performance.now();
    draw();
    track.requestFrame();
    times.push(performance.now() - t0);
    await nextTick(66);
  }
  r.stop();
  stop();
  return { ...stats(times), tickSource, isolated: crossOriginIsolated };
}

/**
 * The per-frame layer query alone (getElementsByTagName, boxes, computed styles, sort): what finding new and
 * removed layers costs each frame, against which a MutationObserver would save at most this.
 */
function query(frames: number) {
  scene ??= build();
  const { stage } = scene;
  const times: number[] = [];
  let layers = 0;
  for (let i = 0; i < frames; i++) {
    scene.animate();
    const t0 = performance.now();
    layers = collectLayers(stage, stage.getBoundingClientRect()).length;
    times.push(performance.now() - t0);
  }
  return { ...stats(times), layers };
}

Object.assign(window, { run, query });
