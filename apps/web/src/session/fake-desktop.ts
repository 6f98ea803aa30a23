/**
 * An animated canvas standing in for a remote desktop: what a real Sortie
 * session would stream. Something moves in every frame (cursor, terminal,
 * chart, clock), so the recording has real content to encode.
 */

const W = 1280;
const H = 720;

const LINES = [
  '$ kubectl get pods -n sortie',
  'NAME                         READY   STATUS    AGE',
  'sortie-recording-7c9f-2kq    1/1     Running   3d',
  'sortie-recording-7c9f-x8m    1/1     Running   3d',
  '$ tail -f /var/log/session.log',
  '[info] session running, desktop 1280x720',
  '[info] user opened report.xlsx',
  '[info] autosave complete',
  '$ make test',
  'PASS  src/render.test.ts (42 tests)',
  'PASS  src/layout.test.ts (17 tests)',
  'Done in 3.4s',
];

export interface FakeDesktop {
  canvas: HTMLCanvasElement;
  stop(): void;
}

export function fakeDesktop(canvas: HTMLCanvasElement): FakeDesktop {
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw on a canvas.');
  const start = performance.now();
  let raf = 0;

  const frame = (now: number) => {
    const t = (now - start) / 1000;
    drawBackground(ctx);
    drawTerminal(ctx, t);
    drawChart(ctx, t);
    drawTaskbar(ctx);
    drawCursor(ctx, t);
    raf = requestAnimationFrame(frame);
  };
  raf = requestAnimationFrame(frame);
  return { canvas, stop: () => cancelAnimationFrame(raf) };
}

function drawBackground(ctx: CanvasRenderingContext2D) {
  const g = ctx.createLinearGradient(0, 0, W, H);
  g.addColorStop(0, '#1e3a5f');
  g.addColorStop(1, '#3b2f63');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, W, H);
}

function windowFrame(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  title: string,
  body: string,
) {
  ctx.fillStyle = 'rgba(0,0,0,0.35)';
  ctx.fillRect(x + 6, y + 8, w, h);
  ctx.fillStyle = '#e8ebf2';
  ctx.fillRect(x, y, w, 30);
  ctx.fillStyle = body;
  ctx.fillRect(x, y + 30, w, h - 30);
  for (const [i, c] of ['#ef6a5e', '#f5bf4f', '#62c554'].entries()) {
    ctx.fillStyle = c;
    ctx.beginPath();
    ctx.arc(x + 18 + i * 20, y + 15, 6, 0, Math.PI * 2);
    ctx.fill();
  }
  ctx.fillStyle = '#3c4256';
  ctx.font = '600 14px system-ui, sans-serif';
  ctx.fillText(title, x + 84, y + 20);
}

function drawTerminal(ctx: CanvasRenderingContext2D, t: number) {
  const x = 60;
  const y = 60;
  windowFrame(ctx, x, y, 640, 430, 'Terminal — session', '#111827');
  ctx.font = '15px ui-monospace, Menlo, monospace';
  // 25 characters a second, looping over the script.
  const typed = Math.floor(t * 25);
  const total = LINES.reduce((n, l) => n + l.length, 0);
  let left = typed % (total + 60);
  let line = 0;
  for (const text of LINES) {
    if (left <= 0) break;
    const shown = text.slice(0, left);
    left -= text.length;
    ctx.fillStyle = text.startsWith('$') ? '#7dd3fc' : text.startsWith('PASS') ? '#86efac' : '#d1d5db';
    ctx.fillText(shown, x + 18, y + 60 + line * 28);
    line++;
  }
  if (Math.floor(t * 2) % 2 === 0) {
    ctx.fillStyle = '#d1d5db';
    ctx.fillRect(x + 18, y + 46 + line * 28, 9, 18);
  }
}

function drawChart(ctx: CanvasRenderingContext2D, t: number) {
  const x = 740;
  const y = 120;
  windowFrame(ctx, x, y, 480, 360, 'Dashboard — throughput', '#ffffff');
  const bars = 12;
  for (let i = 0; i < bars; i++) {
    const v = 0.5 + 0.45 * Math.sin(t * 1.6 + i * 0.7);
    const bh = v * 240;
    ctx.fillStyle = i % 2 ? '#6366f1' : '#22c55e';
    ctx.fillRect(x + 30 + i * 36, y + 320 - bh, 24, bh);
  }
  ctx.fillStyle = '#111827';
  ctx.font = '700 28px system-ui, sans-serif';
  ctx.fillText(`${(1200 + 300 * Math.sin(t)).toFixed(0)} req/s`, x + 30, y + 70);
}

function drawTaskbar(ctx: CanvasRenderingContext2D) {
  ctx.fillStyle = 'rgba(15,23,42,0.85)';
  ctx.fillRect(0, H - 44, W, 44);
  ctx.fillStyle = '#e2e8f0';
  ctx.font = '600 15px system-ui, sans-serif';
  ctx.fillText('Sortie desktop', 20, H - 16);
  const clock = new Date().toLocaleTimeString();
  ctx.fillText(clock, W - 20 - ctx.measureText(clock).width, H - 16);
}

function drawCursor(ctx: CanvasRenderingContext2D, t: number) {
  const cx = W / 2 + Math.sin(t * 0.9) * 420;
  const cy = H / 2 + Math.sin(t * 1.3) * 220;
  ctx.fillStyle = '#ffffff';
  ctx.strokeStyle = '#111827';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.lineTo(cx, cy + 22);
  ctx.lineTo(cx + 6, cy + 16);
  ctx.lineTo(cx + 15, cy + 16);
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
}
