/**
 * The compositor's main-thread cost per frame, in
 * Debian's Chromium as the browser tests run it (--disable-gpu: software
 * raster, the slow case): a 1920×1080 element with three canvas layers (a
 * full-size base, a layer in an opacity wrapper, one with its own z-index)
 * and the pointer over it with a url() cursor, each frame drawn and handed to
 * a MediaRecorder encoding VP9. Baseline in the same page and run: one
 * 1920×1080 canvas copied whole per frame (what recording a single canvas
 * costs). Then the SDK's sizes (bench:size). Figures only, no assertions.
 *
 *   pnpm bench:compositor            (COMPOSITOR_FRAMES=300 by default)
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launch } from '../test/browser/harness.js';

const FRAMES = Number(process.env.COMPOSITOR_FRAMES ?? 300);
const root = fileURLToPath(new URL('..', import.meta.url));

const script = (
  await build({
    entryPoints: [`${root}bench/compositor-page.ts`],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    write: false,
  })
).outputFiles[0]!.text;

type Stats = { median: number; p95: number; max: number; n: number; tickSource: string; isolated: boolean };
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  // A page of its own (no service needed): Playwright answers the request. Loopback is a secure context and the
  // page is cross-origin isolated, so
  // performance.now() has 5 µs resolution instead of 100 µs.
  await page.route('http://127.0.0.1:9/bench', (r) =>
    r.fulfill({
      contentType: 'text/html',
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
      body: `<!doctype html><body><script>${script}</script></body>`,
    }),
  );
  await page.goto('http://127.0.0.1:9/bench');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  /** Seconds the renderer's main thread spent in tasks so far (all work: script, style, layout, paint). */
  const busy = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')!.value;
  const phase = async (kind: 'baseline' | 'compositor') => {
    const before = await busy();
    const running = page.evaluate(
      ([k, n]) => (window as unknown as { run(k: string, n: number): Promise<Stats> }).run(k as string, n as number),
      [kind, FRAMES] as const,
    );
    // The pointer over the stage, so each compositor frame also draws the cursor image (moved now and then).
    const moving = (async () => {
      for (let i = 0; i < 20; i++) {
        await page.mouse.move(900 + i * 10, 500 + i * 5);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const s = await running;
    await moving;
    return { ...s, busyPerFrameMs: (((await busy()) - before) * 1000) / FRAMES };
  };
  const baseline = await phase('baseline');
  const composite = await phase('compositor');
  const q = await page.evaluate(
    (n) => (window as unknown as { query(n: number): { median: number; p95: number; layers: number } }).query(n),
    FRAMES,
  );
  const f = (s: Stats & { busyPerFrameMs: number }) =>
    `median ${s.median.toFixed(3)} ms  p95 ${s.p95.toFixed(3)} ms  max ${s.max.toFixed(2)} ms  ` +
    `(${s.n} frames; main thread busy ${s.busyPerFrameMs.toFixed(2)} ms per frame, all tasks)`;
  console.log(
    `Chromium ${browser.version()}, --disable-gpu; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; cross-origin isolated: ${composite.isolated}`,
  );
  console.log(
    `time per frame (draw + requestFrame), 1920×1080, 15 fps, VP9 encoding alongside; ticks from: ${composite.tickSource}\n`,
  );
  console.log(`baseline   (1 canvas, 1 drawImage)    ${f(baseline)}`);
  console.log(`compositor (3 layers + url() cursor)  ${f(composite)}`);
  console.log(
    `\nratio compositor ÷ baseline: median ${(composite.median / baseline.median).toFixed(2)}, p95 ${(composite.p95 / baseline.p95).toFixed(2)}, main thread busy ${(composite.busyPerFrameMs / baseline.busyPerFrameMs).toFixed(2)}`,
  );
  console.log(
    `of which the layer query (found ${q.layers} layers each frame): median ${q.median.toFixed(3)} ms, p95 ${q.p95.toFixed(3)} ms`,
  );
  console.log(`aim: median under 2 ms — ${composite.median < 2 ? 'met' : 'NOT met'}`);
} finally {
  await browser.close();
}

console.log('\nSDK sizes (pnpm bench:size):');
const size = spawnSync(process.execPath, ['--import', 'tsx', `${root}bench/size.ts`], { encoding: 'utf8', cwd: root });
console.log(size.stdout.trim());
if (size.stderr.trim()) console.log(size.stderr.trim());
