/**
 * Bundled (esbuild, from the sources) into the test page: exposes the SDK
 * and a moving canvas to the tests driving Chromium.
 */
import * as Sortie from '../../src/index.js';
import '../../src/button.js';

/** How many times an animated canvas has been drawn: what the page gave the capture to record. */
let draws = 0;

/** Draws a moving scene with noise at ~30 fps so the encoder has real work (and bytes) to produce. */
function animatedCanvas(width = 320, height = 240, noise = 0): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  document.body.appendChild(canvas);
  const ctx = canvas.getContext('2d')!;
  const t0 = performance.now();
  const draw = () => {
    draws++;
    const t = (performance.now() - t0) / 1000;
    ctx.fillStyle = `hsl(${(t * 60) % 360} 60% 40%)`;
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#fff';
    ctx.fillRect(((Math.sin(t * 2) + 1) / 2) * (width - 40), height / 2 - 20, 40, 40);
    ctx.font = '20px monospace';
    ctx.fillText(t.toFixed(2), 10, 30);
    if (noise > 0) {
      // Random pixels defeat compression: used to reach a size limit quickly.
      const img = ctx.getImageData(0, 0, width, height);
      for (let i = 0; i < img.data.length; i += 4) {
        if (Math.random() < noise) {
          img.data[i] = Math.random() * 255;
          img.data[i + 1] = Math.random() * 255;
          img.data[i + 2] = Math.random() * 255;
        }
      }
      ctx.putImageData(img, 0, 0);
    }
  };
  draw();
  setInterval(draw, 33);
  return canvas;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function blobsToBase64(blobs: Blob[]): Promise<string> {
  return toBase64(new Uint8Array(await new Blob(blobs).arrayBuffer()));
}

/**
 * Loads `url` in a <video>, then seeks to the middle; what the element reports. With `seekWithinMs`, a seek that
 * has not ended by then resolves with `seeked: false` instead of waiting on.
 */
async function probeVideo(
  url: string,
  seekWithinMs?: number,
): Promise<{ duration: number; seekedTo: number; target: number; seeked: boolean }> {
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  document.body.appendChild(video);
  await new Promise<void>((resolve, reject) => {
    video.addEventListener('loadedmetadata', () => resolve(), { once: true });
    video.addEventListener(
      'error',
      () => reject(new Error(`video error ${video.error?.code}: ${video.error?.message}`)),
      { once: true },
    );
    video.src = url;
  });
  const duration = video.duration;
  const target = Number.isFinite(duration) ? duration / 2 : 1;
  const seeked = await new Promise<boolean>((resolve, reject) => {
    video.addEventListener('seeked', () => resolve(true), { once: true });
    if (seekWithinMs !== undefined) setTimeout(() => resolve(false), seekWithinMs);
    video.addEventListener('error', () => reject(new Error(`video error while seeking: ${video.error?.message}`)), {
      once: true,
    });
    video.currentTime = target;
  });
  return { duration, seekedTo: video.currentTime, target, seeked };
}

Object.assign(window, { Sortie, animatedCanvas, blobsToBase64, probeVideo });

export interface RunOptions {
  sessionId: string;
  /** Record this long, then stop(); 0: wait for the recorder to stop by itself (size limit). */
  seconds: number;
  width?: number;
  height?: number;
  noise?: number;
  recorder?: Partial<Sortie.RecorderOptions>;
  /** Give up waiting for a self-stop after this long. */
  maxSeconds?: number;
  /** Pause this long in the middle of the recording. */
  pauseSeconds?: number;
}

/** Records the animated canvas with the SDK and reports everything the tests check. */
async function runRecording(o: RunOptions) {
  const canvas = animatedCanvas(o.width, o.height, o.noise);
  const chunks: Blob[] = [];
  const progress: Sortie.RecorderProgress[] = [];
  const states: string[] = [];
  const uploadStates: string[] = [];
  const errors: { code: string; message: string; status?: number | undefined }[] = [];
  let limit: { recordedBytes: number; maxSizeBytes: number } | null = null;
  const w = window as unknown as { testToken(): Promise<string> };
  const recorder = Sortie.createRecorder({
    source: canvas,
    sessionId: o.sessionId,
    getToken: () => w.testToken(),
    ...o.recorder,
  });
  recorder.on('chunk', ({ data }) => chunks.push(data));
  recorder.on('progress', (p) => progress.push(p));
  recorder.on('statechange', ({ state }) => states.push(state));
  recorder.on('uploadstatechange', ({ uploadState }) => uploadStates.push(uploadState));
  recorder.on('error', (e) => errors.push({ code: e.code, message: e.message, status: e.status }));
  recorder.on('limit', (l) => (limit = l));
  // The page's own clock around the recording: capture begins at 'capture' (MediaRecorder.start()), ends as
  // stop() is called. However late a loaded machine runs the timers below, the recording must match these.
  const clock = { captureAt: 0, drawsAtCapture: 0, pausedAt: 0, resumedAt: 0, stopAt: 0, drawsAtStop: 0 };
  recorder.on('capture', () => {
    clock.captureAt = performance.now();
    clock.drawsAtCapture = draws;
  });
  let recording: Sortie.Recording | null = null;
  let failure: string | null = null;
  const t0 = performance.now();
  try {
    await recorder.start();
    if (o.seconds > 0) {
      const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
      if (o.pauseSeconds) {
        await sleep(o.seconds / 2);
        clock.pausedAt = performance.now();
        recorder.pause();
        await sleep(o.pauseSeconds);
        clock.resumedAt = performance.now();
        recorder.resume();
        await sleep(o.seconds / 2);
      } else {
        await sleep(o.seconds);
      }
      clock.stopAt = performance.now();
      clock.drawsAtStop = draws;
      recording = await recorder.stop();
    } else {
      recording = await new Promise<Sortie.Recording>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('the recorder did not stop by itself')),
          (o.maxSeconds ?? 30) * 1000,
        );
        recorder.on('statechange', ({ state, recording: rec }) => {
          if (state === 'ready' && rec) {
            clearTimeout(timer);
            resolve(rec);
          }
          if (state === 'failed') {
            clearTimeout(timer);
            reject(new Error('the recorder failed'));
          }
        });
      });
    }
  } catch (err) {
    failure = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  return {
    recording,
    failure,
    chunks: await blobsToBase64(chunks),
    chunkCount: chunks.length,
    chunkSizes: chunks.map((c) => c.size),
    lastProgress: progress[progress.length - 1] ?? null,
    states,
    uploadStates,
    errors,
    limit: limit as { recordedBytes: number; maxSizeBytes: number } | null,
    mimeType: recorder.mimeType,
    wallMs: performance.now() - t0,
    /** By the page's clock: capture to stop() less the pause, in ms (0 when the recorder stopped itself). */
    pageRecordedMs: clock.stopAt ? clock.stopAt - clock.captureAt - (clock.resumedAt - clock.pausedAt) : 0,
    /** The canvas's draws from capture to stop(). */
    drawsRecorded: clock.drawsAtStop - clock.drawsAtCapture,
  };
}

export type RunResult = Awaited<ReturnType<typeof runRecording>>;

Object.assign(window, { runRecording });

/** A quiet desktop: a still scene with one small change a second (a clock's digits), so the encoder makes few bytes. */
function quietCanvas(width = 320, height = 240): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  document.body.appendChild(canvas);
  const ctx = canvas.getContext('2d')!;
  const t0 = performance.now();
  const draw = () => {
    ctx.fillStyle = '#dde';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#223';
    ctx.font = '20px monospace';
    ctx.fillText(`${Math.floor((performance.now() - t0) / 1000)} s`, 10, 30);
  };
  draw();
  setInterval(draw, 1000);
  return canvas;
}

export interface StartOptions {
  sessionId: string;
  scene: 'animated' | 'quiet';
  recorder?: Partial<Sortie.RecorderOptions>;
}

/**
 * Starts a recording and leaves it running (the test then closes the tab or
 * kills the browser); returns the recording's id. What was recorded and
 * sent so far is kept on `window.recordingLog` for the test to read.
 */
async function startOnly(o: StartOptions): Promise<{ id: string; mimeType: string | null }> {
  const canvas = o.scene === 'quiet' ? quietCanvas() : animatedCanvas();
  const w = window as unknown as {
    testToken(): Promise<string>;
    recordingLog: { recordedBytes: number; uploadedBytes: number };
  };
  w.recordingLog = { recordedBytes: 0, uploadedBytes: 0 };
  const recorder = Sortie.createRecorder({
    source: canvas,
    sessionId: o.sessionId,
    getToken: () => w.testToken(),
    ...o.recorder,
  });
  recorder.on('progress', (p) => {
    w.recordingLog.recordedBytes = p.recordedBytes;
    w.recordingLog.uploadedBytes = p.uploadedBytes;
  });
  const rec = await recorder.start();
  return { id: rec.id, mimeType: recorder.mimeType };
}

Object.assign(window, { quietCanvas, startOnly });

export interface LagOptions {
  sessionId: string;
  seconds: number;
  width: number;
  height: number;
  noise: number;
  recorder?: Partial<Sortie.RecorderOptions>;
}

/**
 * For bench/lag.ts: records the animated canvas through a fetch that logs
 * every request, then stops normally. Returns the page-clock times of each
 * chunk and each part PUT, for the bench to work out how long recorded bytes
 * were held only in the browser.
 */
async function measureLag(o: LagOptions) {
  const canvas = animatedCanvas(o.width, o.height, o.noise);
  const w = window as unknown as { testToken(): Promise<string> };
  const requests: { at: number; method: string; path: string }[] = [];
  // `tail`: [part, seq] of a tail object (S3; docs/bounded-loss.md), else null.
  const puts: { part: number; tail: [number, number] | null; size: number; start: number; end: number; ok: boolean }[] =
    [];
  const partOfUrl = new Map<string, number>();
  const logged: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const start = performance.now();
    requests.push({ at: start, method, path: new URL(url).pathname });
    const res = await fetch(input, init);
    if (method === 'POST' && /\/parts$/.test(new URL(url).pathname)) {
      const target = (await res.clone().json()) as { url: string };
      partOfUrl.set(target.url, (JSON.parse(String(init?.body)) as { partNumber: number }).partNumber);
    }
    // A tail is a form upload (a presigned POST to the bucket): its name is the form's `key`, its bytes the `file`.
    const form = init?.body instanceof FormData ? init.body : null;
    const tailKey = form && method === 'POST' ? /\/tails\/[^/]+\/(\d+)-(\d+)$/.exec(String(form.get('key'))) : null;
    if (tailKey)
      puts.push({
        part: Number(tailKey[1]),
        tail: [Number(tailKey[1]), Number(tailKey[2])],
        size: (form!.get('file') as Blob).size,
        start,
        end: performance.now(),
        ok: res.ok,
      });
    if (method === 'PUT')
      puts.push({
        // A part URL from /parts, or the parts URL's `${url}/${partNumber}` (local, one request a part).
        part: partOfUrl.get(url) ?? Number(/\/api\/uploads\/[^/]+\/(\d+)$/.exec(new URL(url).pathname)?.[1] ?? -1),
        tail: ((m) => (m ? ([Number(m[1]), Number(m[2])] as [number, number]) : null))(
          /\/tails\/[^/]+\/(\d+)-(\d+)/.exec(new URL(url).pathname),
        ),
        size: (init?.body as Blob).size,
        start,
        end: performance.now(),
        ok: res.ok,
      });
    return res;
  };
  const chunks: { at: number; size: number }[] = [];
  const recorder = Sortie.createRecorder({
    source: canvas,
    sessionId: o.sessionId,
    getToken: () => w.testToken(),
    fetch: logged,
    ...o.recorder,
  });
  let startedAt = 0;
  recorder.on('statechange', ({ state }) => {
    if (state === 'recording') startedAt = performance.now();
  });
  recorder.on('chunk', ({ data }) => chunks.push({ at: performance.now(), size: data.size }));
  const t0 = performance.now();
  await recorder.start();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const stoppedAt = performance.now();
  const rec = await recorder.stop();
  return {
    t0,
    startedAt,
    stoppedAt,
    endedAt: performance.now(),
    chunks,
    puts,
    requests,
    sizeBytes: rec.sizeBytes,
    durationMs: rec.durationMs,
    mimeType: recorder.mimeType,
  };
}

export type LagResult = Awaited<ReturnType<typeof measureLag>>;

Object.assign(window, { measureLag });
