/**
 * Time at risk (docs/bounded-loss.md): how long recorded media is held only
 * in the browser, and what it costs, at three bitrates, on the local backend
 * and on S3 (the loopback S3 server of the server's tests; the SDK keeps what
 * is not yet a 5 MiB part in tail objects there). Real Chromium records a
 * canvas with the SDK (default maxLagMs 2000) against the real service on
 * loopback for SECONDS seconds each, then stops normally. Figures only, no
 * assertions.
 *
 *   pnpm bench:lag            (LAG_SECONDS=60 for longer runs; LAG_BACKENDS=s3 for one backend)
 *
 * At each moment t (sampled every 10 ms from the start of capture to stop()):
 * - "browser only": t minus the time the oldest byte not yet handed to a part
 *   or tail PUT was recorded (S3: a byte is out once its part, or a tail of
 *   its part with every earlier tail of that part, is under way). A chunk holds what was recorded since the chunk before
 *   it (or since capture began); bytes not handed over yet are in
 *   MediaRecorder, recorded since the last chunk.
 * - "not stored": the same for the oldest byte whose part is not stored yet
 *   (the bound of the promise: maxLagMs plus one upload in flight).
 * Requests per minute count every request of the recording (config, create,
 * part URLs, PUTs, stop, complete) over the time from start() to stop()'s
 * end; bytes uploaded ÷ recorded counts every PUT body (part 1 is sent again
 * with its Duration at stop) over the stored file's size.
 *
 * Each case runs twice: with Chromium's MediaRecorder as it is (the baseline),
 * then with one that ignores `timeslice` (its start(timeslice) calls start()
 * without one, as Safari 26 hands WebM over in ~10 s segments whatever it is
 * asked and Chromium MP4 only at fragment boundaries), so chunks come only when
 * the SDK asks for them (requestData). The second row prints its max at risk
 * as a ratio of the baseline's, and both print requestData() calls a minute.
 * LAG_VARIANTS=normal (or ignored) runs one.
 */
import { launch, mintToken, openPage, USER } from '../test/browser/harness.js';
import { startBackend, type Backend } from '../test/browser/s3-harness.js';
import type { LagOptions, LagResult } from '../test/browser/page-entry.js';
import { atRisk, percentile, timesliceScript } from '../test/browser/at-risk.js';

const SECONDS = Number(process.env.LAG_SECONDS ?? 30);
const CASES: { name: string; opts: Omit<LagOptions, 'sessionId' | 'seconds'> }[] = [
  { name: '~50 kbit/s', opts: { width: 320, height: 240, noise: 0, recorder: { videoBitsPerSecond: 50_000 } } },
  { name: '~1 Mbit/s', opts: { width: 640, height: 480, noise: 0.002, recorder: { videoBitsPerSecond: 1_000_000 } } },
  { name: '~8 Mbit/s', opts: { width: 960, height: 540, noise: 0.5, recorder: { videoBitsPerSecond: 8_000_000 } } },
];

/** A request's kind, ids and signatures left out. */
function kind(q: { method: string; path: string }): string {
  const path = q.path
    .replace(/\/api\/uploads\/.*/, '/api/uploads/<part URL>')
    .replace(/\/tails\/[0-9a-f-]{36}\/\d+-\d+$/, '/tails/:id/<part>-<seq> (tail)')
    .replace(/\/[0-9a-f-]{36}\.webm$/, '/:id.webm (part)')
    .replace(/[0-9a-f-]{36}/, ':id');
  return `${q.method} ${path}`;
}

const BACKENDS = (process.env.LAG_BACKENDS ?? 'local,s3').split(',') as Backend[];
const VARIANTS = (process.env.LAG_VARIANTS ?? 'normal,ignored').split(',');
const requestsByKind = new Map<string, number>();
const browser = await launch();
try {
  for (const backend of BACKENDS) {
    const svc = await startBackend(backend);
    try {
      console.log(
        `\n${backend} backend, maxLagMs 2000 (default), ${SECONDS} s per case, Chromium ${browser.version()}\n`,
      );
      console.log(
        'case                            bitrate      at risk, browser only   at risk, not stored     req/min  req/rec  uploaded÷recorded  parts  tails  requestData/min',
      );
      console.log('                                             max       p95           max       p95');
      for (const c of CASES) {
        let baselineMax: number | null = null;
        for (const variant of VARIANTS) {
          const ignored = variant === 'ignored';
          const page = await openPage(browser, svc.baseUrl);
          await page.exposeFunction('testToken', () => mintToken(USER, 3600));
          await page.evaluate(timesliceScript(ignored));
          const o: LagOptions = { sessionId: `bench-lag-${backend}-${c.name}-${variant}`, seconds: SECONDS, ...c.opts };
          const r = (await page.evaluate(
            (x) => (window as unknown as { measureLag(o: unknown): Promise<unknown> }).measureLag(x),
            o as unknown,
          )) as LagResult;
          const requestDataCalls = await page.evaluate(
            () => (window as unknown as { requestDataCalls: number }).requestDataCalls,
          );
          await page.close();
          const { browserOnly, notStored } = atRisk(r);
          const kbps = (r.sizeBytes * 8) / (r.durationMs ?? SECONDS * 1000);
          const minutes = (r.endedAt - r.t0) / 60_000;
          const uploaded = r.puts.reduce((n, p) => n + p.size, 0);
          const parts = new Set(r.puts.filter((p) => !p.tail).map((p) => p.part)).size;
          const tails = r.puts.filter((p) => p.tail).length;
          requestsByKind.clear();
          for (const q of r.requests) requestsByKind.set(kind(q), (requestsByKind.get(kind(q)) ?? 0) + 1);
          const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padEnd(10);
          const max = browserOnly.at(-1)!;
          if (!ignored) baselineMax = max;
          const name = ignored ? `${c.name}, timeslice ignored` : c.name;
          const ratio = ignored && baselineMax ? `   max ×${(max / baselineMax).toFixed(2)} the baseline` : '';
          console.log(
            `${name.padEnd(32)}${`${kbps.toFixed(0)} kbit/s`.padEnd(13)}${f(max)}${f(percentile(browserOnly, 95))}    ${f(notStored.at(-1)!)}${f(percentile(notStored, 95))}    ` +
              `${(r.requests.length / minutes).toFixed(1).padEnd(9)}${String(r.requests.length).padEnd(9)}${(uploaded / r.sizeBytes).toFixed(3).padEnd(19)}${String(parts).padEnd(7)}${String(tails).padEnd(7)}` +
              `${((requestDataCalls / (r.stoppedAt - r.startedAt)) * 60_000).toFixed(1)}${ratio}`,
          );
        }
      }
      // A normal stop: what each request of one recording was (the last case's shape holds for all).
      console.log(`\nrequests of one recording stopped normally (${backend}, ${SECONDS} s, the last case):`);
      for (const [what, n] of requestsByKind) console.log(`  ${String(n).padStart(4)}  ${what}`);
    } finally {
      await svc.close();
    }
  }
} finally {
  await browser.close();
}
