/**
 * The test page of blocked.test.ts: a recording of a moving canvas whose part URLs point at
 * another origin (the test's no-CORS store). The SDK's `fetch` moves the parts URL and the part URLs the
 * service hands out onto that origin, as a deployment whose part URLs go to a store without CORS would.
 */
import * as Sortie from '../../src/index.js';

/** A canvas that changes every frame, so every part has frames in it. */
function movingCanvas(): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  document.body.appendChild(canvas);
  const ctx = canvas.getContext('2d')!;
  const t0 = performance.now();
  setInterval(() => {
    const t = (performance.now() - t0) / 1000;
    ctx.fillStyle = `hsl(${(t * 60) % 360} 60% 40%)`;
    ctx.fillRect(0, 0, 320, 240);
    ctx.fillStyle = '#fff';
    ctx.fillRect(((Math.sin(t * 2) + 1) / 2) * 280, 100, 40, 40);
  }, 33);
  return canvas;
}

export interface BlockedLog {
  errors: { code: string; message: string }[];
  uploadStates: string[];
  states: string[];
}

async function startBlocked(o: { sessionId: string; partsOrigin: string }): Promise<{ id: string }> {
  const w = window as unknown as {
    testToken(): Promise<string>;
    blockedLog: BlockedLog;
    blockedRecorder: Sortie.Recorder;
    captureAt: number;
  };
  const log: BlockedLog = (w.blockedLog = { errors: [], uploadStates: [], states: [] });
  const moved = (u: string) => {
    const url = new URL(u);
    return `${o.partsOrigin}${url.pathname}${url.search}`;
  };
  const movingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const path = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).pathname;
    if (init?.method !== 'POST' || !res.ok || !(path === '/api/recordings' || path.endsWith('/parts'))) return res;
    const body = (await res.json()) as { partsUrl?: { url: string }; url?: string };
    if (body.partsUrl) body.partsUrl.url = moved(body.partsUrl.url);
    if (path.endsWith('/parts') && body.url) body.url = moved(body.url);
    return Response.json(body, { status: res.status });
  };
  const recorder = (w.blockedRecorder = Sortie.createRecorder({
    source: movingCanvas(),
    sessionId: o.sessionId,
    getToken: () => w.testToken(),
    fetch: movingFetch,
  }));
  recorder.on('error', (e) => log.errors.push({ code: e.code, message: e.message }));
  recorder.on('uploadstatechange', ({ uploadState }) => log.uploadStates.push(uploadState));
  recorder.on('statechange', ({ state }) => log.states.push(state));
  recorder.on('capture', () => (w.captureAt = performance.now()));
  const rec = await recorder.start();
  return { id: rec.id };
}

/** Stops the recording startBlocked began; the ready recording and the page's recorded time (capture to stop). */
async function stopBlocked(): Promise<{ recording: Sortie.Recording; pageRecordedMs: number }> {
  const w = window as unknown as { blockedRecorder: Sortie.Recorder; captureAt: number };
  const pageRecordedMs = performance.now() - w.captureAt;
  return { recording: await w.blockedRecorder.stop(), pageRecordedMs };
}

Object.assign(window, { startBlocked, stopBlocked });
