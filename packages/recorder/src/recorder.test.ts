/**
 * The recorder's control flow (upload failures, limits, aborts) against a
 * stand-in MediaRecorder and a scripted service: a unit test of this one
 * module. Real Chromium against the real service is in test/browser.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRecorder, type Recorder, type RecorderOptions } from './recorder.js';
import type { RecorderError } from './errors.js';
import type { RecordingConfig } from './types.js';
import { readWebmDuration } from '@sortie/webm';

class FakeMediaRecorder extends EventTarget {
  static isTypeSupported = (t: string) => t.startsWith('video/webm') || t === 'video/mp4';
  static instances: FakeMediaRecorder[] = [];
  state: 'inactive' | 'recording' | 'paused' = 'inactive';
  /** Milliseconds stop() takes before 'stop' fires. */
  stopDelayMs = 0;
  constructor(
    readonly stream: unknown,
    readonly options: unknown,
  ) {
    super();
    FakeMediaRecorder.instances.push(this);
  }
  start(): void {
    this.state = 'recording';
    queueMicrotask(() => this.dispatchEvent(new Event('start')));
  }
  pause(): void {
    this.state = 'paused';
  }
  resume(): void {
    this.state = 'recording';
  }
  chunk(size: number, fill = 7): void {
    this.bytes(new Uint8Array(size).fill(fill));
  }
  bytes(data: Uint8Array): void {
    const e = new Event('dataavailable') as Event & { data: Blob };
    e.data = new Blob([data.slice()]);
    this.dispatchEvent(e);
  }
  stop(): void {
    if (this.state === 'inactive') return;
    this.state = 'inactive';
    setTimeout(() => {
      this.chunk(0);
      this.dispatchEvent(new Event('stop'));
    }, this.stopDelayMs);
  }
  /** What Chromium does when the source's tracks end or the encoder breaks: it stops by itself. */
  endsByItself(withError = false): void {
    if (withError) {
      const e = new Event('error') as Event & { error?: unknown };
      e.error = new Error('encoder broke');
      this.dispatchEvent(e);
    }
    this.state = 'inactive';
    this.chunk(0);
    this.dispatchEvent(new Event('stop'));
  }
}

type Reply = Response | Promise<Response>;
interface Script {
  put?: (part: number, attempt: number) => Reply;
  parts?: (part: number, attempt: number) => Reply;
  complete?: (attempt: number) => Reply;
}

function service(script: Script = {}) {
  const config: RecordingConfig = {
    enabled: true,
    autoRecord: false,
    maxSizeBytes: 100_000,
    backend: 'local',
    minPartSizeBytes: 0,
    maxParts: 10_000,
  };
  const log = {
    config: 0,
    created: 0,
    parts: new Map<number, number>(),
    puts: new Map<number, number>(),
    /** The last body PUT for each part number. */
    bodies: new Map<number, Blob>(),
    completes: [] as unknown[],
    fails: [] as string[],
    completeCalls: 0,
    /** Labels of the markers posted, in order. */
    markers: [] as string[],
  };
  const rec = (status: string) => ({
    id: `r${log.created}`,
    sessionId: 's',
    userId: 'u',
    userName: null,
    status,
    mimeType: 'video/webm',
    sizeBytes: 0,
    durationMs: null,
    createdAt: '',
    updatedAt: '',
    completedAt: null,
    failureReason: null,
  });
  const fetchFn = (async (input: string | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const body =
      init.body === undefined ? undefined : init.body instanceof Blob ? init.body : JSON.parse(String(init.body));
    const path = url.pathname;
    if (url.host === 'store.test') {
      const n = Number(path.split('/').pop());
      const attempt = (log.puts.get(n) ?? 0) + 1;
      log.puts.set(n, attempt);
      if (init.body instanceof Blob) log.bodies.set(n, init.body);
      return (script.put ?? (() => new Response(null, { status: 200, headers: { ETag: `"e${n}"` } })))(n, attempt);
    }
    if (path === '/api/recordings/config') {
      log.config++;
      return Response.json(config);
    }
    if (path === '/api/recordings' && init.method === 'POST') {
      log.created++;
      return Response.json(rec('recording'), { status: 201 });
    }
    if (path.endsWith('/parts')) {
      const { partNumber } = body as { partNumber: number };
      const attempt = (log.parts.get(partNumber) ?? 0) + 1;
      log.parts.set(partNumber, attempt);
      const scripted = script.parts?.(partNumber, attempt);
      if (scripted) return scripted;
      return Response.json({
        partNumber,
        url: `https://store.test/p/${partNumber}`,
        method: 'PUT',
        headers: {},
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      });
    }
    if (path.endsWith('/stop')) return Response.json(rec('uploading'));
    if (path.endsWith('/complete')) {
      log.completeCalls++;
      const scripted = script.complete?.(log.completeCalls);
      if (scripted) return scripted;
      log.completes.push(body);
      return Response.json({ ...rec('ready'), durationMs: (body as { durationMs: number }).durationMs });
    }
    if (path.endsWith('/markers')) {
      log.markers.push(...(body as { markers: { label: string }[] }).markers.map((m) => m.label));
      return new Response(null, { status: 204 });
    }
    if (path.endsWith('/fail')) {
      log.fails.push((body as { reason: string }).reason);
      return Response.json(rec('failed'));
    }
    return Response.json({ error: { code: 'not_found', message: path } }, { status: 404 });
  }) as typeof fetch;
  return { config, log, fetch: fetchFn };
}

const canvas = { captureStream: () => ({ getTracks: () => [] }) } as unknown as HTMLCanvasElement;
const media = () => FakeMediaRecorder.instances.at(-1)!;
const json = (status: number, code: string) => Response.json({ error: { code, message: code } }, { status });

function recorder(svc: ReturnType<typeof service>, extra: Partial<RecorderOptions> = {}) {
  const r = createRecorder({
    source: canvas,
    sessionId: 's',
    baseUrl: 'https://api.test',
    getToken: 't',
    fetch: svc.fetch,
    // Every chunk closes a part (100-byte chunks below). Not WebM: part 1 of a WebM recording holds
    // its first 64 KiB (see 'part 1 holds the WebM head' below); these tests are about control flow.
    mimeTypes: ['video/mp4'],
    partSizeBytes: 100,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...extra,
  });
  const seen = { errors: [] as RecorderError[], limits: 0, states: [] as string[] };
  r.on('error', (e) => seen.errors.push(e));
  r.on('limit', () => seen.limits++);
  r.on('statechange', ({ state }) => seen.states.push(state));
  return { r, seen };
}

/** Waits until the recorder reaches a state where it rests. */
async function settled(r: Recorder): Promise<void> {
  await vi.waitFor(() => expect(['ready', 'failed', 'idle']).toContain(r.state), { timeout: 5000, interval: 2 });
}

beforeEach(() => {
  FakeMediaRecorder.instances = [];
  vi.stubGlobal('MediaRecorder', FakeMediaRecorder);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('recorder: a network outage loses nothing', () => {
  it('keeps retrying a part through an outage far longer than the attempt budget, then completes every part', async () => {
    // Part 2's PUT fails 30 times in a row (the old budget was 8 attempts), then the network is back.
    const svc = service({
      put: (n, attempt) => {
        if (n === 2 && attempt <= 30) throw new TypeError('Failed to fetch');
        return new Response(null, { status: 200, headers: { ETag: `"e${n}"` } });
      },
    });
    const { r, seen } = recorder(svc);
    await r.start();
    for (let i = 0; i < 4; i++) media().chunk(100);
    const rec = await r.stop();
    expect(rec.status).toBe('ready');
    expect(svc.log.puts.get(2)).toBe(31);
    expect(svc.log.completes).toEqual([
      expect.objectContaining({ parts: [1, 2, 3, 4].map((n) => ({ partNumber: n, etag: `"e${n}"` })) }),
    ]);
    expect(seen.errors).toEqual([]);
    expect(r.progress.uploadedBytes).toBe(400);
  });

  it('stops at the memory cap and completes with the stored prefix of parts, reporting the error', async () => {
    const svc = service({
      put: (n) => {
        if (n >= 2) throw new TypeError('Failed to fetch');
        return new Response(null, { status: 200, headers: { ETag: `"e${n}"` } });
      },
    });
    const { r, seen } = recorder(svc, { maxUnsentBytes: 250 });
    await r.start();
    media().chunk(100);
    await vi.waitFor(() => expect(r.progress.uploadedBytes).toBe(100), { interval: 2 });
    // Parts 2 and 3 wait in memory (200 bytes); part 4 would pass the 250-byte cap.
    for (let i = 0; i < 3; i++) media().chunk(100);
    await settled(r);
    expect(r.state).toBe('ready');
    expect(svc.log.completes).toEqual([expect.objectContaining({ parts: [{ partNumber: 1, etag: '"e1"' }] })]);
    expect(seen.errors.map((e) => e.code)).toEqual(['network']);
    expect(seen.errors[0]!.message).toMatch(/250 bytes/);
    expect(r.progress).toMatchObject({ recordedBytes: 100, uploadedBytes: 100 });
    expect(svc.log.fails).toEqual([]);
  });

  it('completes with the stored prefix when a part is refused for good (4xx), and reports the error', async () => {
    const svc = service({
      put: (n) =>
        n === 3 ? json(400, 'invalid_request') : new Response(null, { status: 200, headers: { ETag: `"e${n}"` } }),
    });
    const { r, seen } = recorder(svc);
    await r.start();
    media().chunk(100);
    media().chunk(100);
    await vi.waitFor(() => expect(r.progress.uploadedBytes).toBe(200), { interval: 2 });
    media().chunk(100);
    await settled(r);
    expect(r.state).toBe('ready');
    expect(svc.log.completes).toEqual([
      expect.objectContaining({ parts: [1, 2].map((n) => ({ partNumber: n, etag: `"e${n}"` })) }),
    ]);
    expect(seen.errors).toEqual([
      expect.objectContaining({ code: 'http', status: 400, serverCode: 'invalid_request' }),
    ]);
  });
});

describe('recorder: a 413 on a part ends like the size limit', () => {
  it("emits 'limit', stops capture and completes with the parts stored", async () => {
    const svc = service({ parts: (n) => (n === 3 ? json(413, 'payload_too_large') : undefined) as unknown as Reply });
    const { r, seen } = recorder(svc);
    await r.start();
    media().chunk(100);
    media().chunk(100);
    await vi.waitFor(() => expect(r.progress.uploadedBytes).toBe(200), { interval: 2 });
    media().chunk(100);
    await settled(r);
    expect(r.state).toBe('ready');
    expect(seen.limits).toBe(1);
    expect(seen.errors).toEqual([]);
    expect(svc.log.completes).toEqual([
      expect.objectContaining({
        parts: [1, 2].map((n) => ({ partNumber: n, etag: `"e${n}"` })),
        // The service records how it ended (Recording.endedBy), shown in the admin's Ended by column.
        endedBy: 'size_limit',
      }),
    ]);
  });
});

describe('recorder: stop() reports the real cause', () => {
  it('rejects with the upload error, not "aborted", when a part fails during stop and complete fails too', async () => {
    const svc = service({
      put: (n) =>
        n === 2 ? json(400, 'invalid_request') : new Response(null, { status: 200, headers: { ETag: `"e${n}"` } }),
      complete: () => json(409, 'conflict'),
    });
    const { r, seen } = recorder(svc);
    await r.start();
    media().chunk(100);
    await vi.waitFor(() => expect(r.progress.uploadedBytes).toBe(100), { interval: 2 });
    // The failure lands while MediaRecorder is still handing over its last chunk.
    media().stopDelayMs = 50;
    media().chunk(100);
    await expect(r.stop()).rejects.toMatchObject({ code: 'http', status: 400, serverCode: 'invalid_request' });
    expect(r.state).toBe('failed');
    expect(seen.errors).toEqual([expect.objectContaining({ code: 'http', status: 400 })]);
  });
});

describe('recorder: config is read afresh', () => {
  it('fetches the config at each start(), so a changed limit or switch applies without a reload', async () => {
    const svc = service();
    const { r } = recorder(svc);
    await r.getConfig();
    await r.getConfig();
    expect(svc.log.config).toBe(1);
    await r.start();
    expect(svc.log.config).toBe(2);
    media().chunk(100);
    await r.stop();
    svc.config.enabled = false;
    await expect(r.start()).rejects.toMatchObject({ code: 'disabled' });
    expect(svc.log.config).toBe(3);
  });

  it('getConfig({ fresh: true }) asks the service again', async () => {
    const svc = service();
    const { r } = recorder(svc);
    expect((await r.getConfig()).autoRecord).toBe(false);
    svc.config.autoRecord = true;
    expect((await r.getConfig()).autoRecord).toBe(false);
    expect((await r.getConfig({ fresh: true })).autoRecord).toBe(true);
  });
});

describe('recorder: MediaRecorder ending by itself keeps what it captured', () => {
  it('completes when the source ends (MediaRecorder stops without stop())', async () => {
    const svc = service();
    const { r, seen } = recorder(svc);
    await r.start();
    media().chunk(100);
    media().chunk(100);
    media().endsByItself();
    await settled(r);
    expect(r.state).toBe('ready');
    expect(svc.log.completes).toEqual([
      expect.objectContaining({ parts: [1, 2].map((n) => ({ partNumber: n, etag: `"e${n}"` })) }),
    ]);
    expect(seen.errors).toEqual([]);
  });

  it("completes with the captured data after a MediaRecorder 'error', and reports it", async () => {
    const svc = service();
    const { r, seen } = recorder(svc);
    await r.start();
    media().chunk(100);
    media().chunk(100);
    media().endsByItself(true);
    await settled(r);
    expect(r.state).toBe('ready');
    expect(svc.log.completes).toEqual([
      expect.objectContaining({ parts: [1, 2].map((n) => ({ partNumber: n, etag: `"e${n}"` })) }),
    ]);
    expect(svc.log.fails).toEqual([]);
    expect(seen.errors).toEqual([
      expect.objectContaining({ code: 'capture', message: expect.stringMatching(/encoder broke/) }),
    ]);
  });
});

describe('recorder: abort() discards', () => {
  it('tells the service to discard the recording when aborting from failed', async () => {
    const svc = service({ complete: () => json(409, 'conflict') });
    const { r } = recorder(svc);
    await r.start();
    media().chunk(100);
    await expect(r.stop()).rejects.toMatchObject({ code: 'http', status: 409 });
    expect(r.state).toBe('failed');
    expect(svc.log.fails).toEqual([]);
    await r.abort();
    expect(r.state).toBe('idle');
    expect(svc.log.fails).toEqual(['Aborted by the user.']);
  });
});

describe('recorder: start() loads the recording engine while it asks for the config', () => {
  it('abort() during that load: start() rejects as aborted, nothing is created, and the next start() records', async () => {
    const svc = service();
    const { r } = recorder(svc);
    const starting = r.start();
    expect(r.state).toBe('starting');
    await r.abort();
    expect(r.state).toBe('idle');
    await expect(starting).rejects.toMatchObject({ code: 'aborted' });
    expect(svc.log.created).toBe(0);
    expect(FakeMediaRecorder.instances).toHaveLength(0);
    await r.start();
    media().chunk(100);
    expect((await r.stop()).status).toBe('ready');
    expect(svc.log.created).toBe(1);
  });

  it('keeps a mark made while starting (before the engine is loaded) and sends it with the recording', async () => {
    const svc = service();
    const { r } = recorder(svc);
    const starting = r.start();
    expect(r.mark('before capture')).toBe(true);
    await starting;
    media().chunk(100);
    await r.stop();
    await vi.waitFor(() => expect(svc.log.markers).toContain('stopped'), { timeout: 5000, interval: 2 });
    expect(svc.log.markers.slice(0, 2)).toEqual(['before capture', 'started']);
  });
});

/** Two seconds recorded by Chromium's MediaRecorder (test/fixtures/record-fixture.ts). */
const fixture = new Uint8Array(readFileSync(new URL('../test/fixtures/chromium-vp9.webm', import.meta.url)));

describe('recorder: WebM head and duration (a 1-byte first chunk under load)', () => {
  /** Hands the fixture over the way Chromium did under load: a 1-byte first chunk, then chunks of `size`. */
  function handOver(size: number): void {
    media().bytes(fixture.subarray(0, 1));
    for (let at = 1; at < fixture.length; at += size) media().bytes(fixture.subarray(at, at + size));
  }

  it('writes the Duration into part 1 even when the first chunk is one byte', async () => {
    const svc = service();
    svc.config.maxSizeBytes = 10_000_000;
    const { r, seen } = recorder(svc, { mimeTypes: ['video/webm;codecs=vp9'] });
    await r.start();
    handOver(1000);
    const rec = await r.stop();
    expect(seen.errors).toEqual([]);
    // Part 1 is the file's first 64 KiB (here the whole 14 KB file), never the lone first byte.
    const part1 = new Uint8Array(await svc.log.bodies.get(1)!.arrayBuffer());
    expect(part1.length).toBe(fixture.length + 11);
    expect(readWebmDuration(part1)).toBe(rec.durationMs);
  });

  it("sends the media's own duration, not the page's clock", async () => {
    const svc = service();
    svc.config.maxSizeBytes = 10_000_000;
    const { r } = recorder(svc, { mimeTypes: ['video/webm;codecs=vp9'], partSizeBytes: 2000 });
    await r.start();
    // Two seconds of frames handed over within a few ms: the page's clock would say about 0.
    handOver(700);
    const rec = await r.stop();
    expect(rec.durationMs).toBeGreaterThan(1900);
    expect(rec.durationMs).toBeLessThan(2200);
    expect(svc.log.completes).toEqual([expect.objectContaining({ durationMs: rec.durationMs })]);
  });
});

describe('recorder: each start() is a new recording (one Take per recording)', () => {
  it("ignores a chunk that the previous recording's MediaRecorder hands over late", async () => {
    const svc = service();
    const { r } = recorder(svc);
    await r.start();
    const first = media();
    first.chunk(100);
    await r.abort();
    await r.start();
    expect(media()).not.toBe(first);
    // An aborted MediaRecorder's last 'dataavailable' comes after stop(), here after the next start().
    first.chunk(100, 1);
    media().chunk(100, 2);
    const rec = await r.stop();
    expect(rec.status).toBe('ready');
    expect(r.progress.recordedBytes).toBe(100);
    expect(svc.log.completes).toEqual([expect.objectContaining({ parts: [{ partNumber: 1, etag: '"e1"' }] })]);
    expect(new Uint8Array(await svc.log.bodies.get(1)!.arrayBuffer())[0]).toBe(2);
  });

  it('starts clean after a recording that ended at the limit with a failed part', async () => {
    let refuse = true;
    const svc = service({
      parts: (n) => (refuse && n === 2 ? json(413, 'payload_too_large') : undefined) as unknown as Reply,
    });
    const { r, seen } = recorder(svc);
    await r.start();
    media().chunk(100);
    await vi.waitFor(() => expect(r.progress.uploadedBytes).toBe(100), { interval: 2 });
    media().chunk(100);
    await settled(r);
    expect(seen.limits).toBe(1);
    expect(r.progress).toMatchObject({ recordedBytes: 100, uploadedBytes: 100 });
    refuse = false;
    await r.start();
    expect(r.progress).toEqual({ recordedBytes: 0, uploadedBytes: 0, durationMs: expect.any(Number) });
    for (let i = 0; i < 3; i++) media().chunk(100);
    const rec = await r.stop();
    expect(rec.status).toBe('ready');
    // Not 'full', no stored prefix, no failure carried over: every chunk of the new recording is kept.
    expect(seen.limits).toBe(1);
    expect(seen.errors).toEqual([]);
    expect(svc.log.completes.at(-1)).toMatchObject({
      parts: [1, 2, 3].map((n) => ({ partNumber: n, etag: `"e${n}"` })),
    });
    expect(r.progress).toMatchObject({ recordedBytes: 300, uploadedBytes: 300 });
  });
});

describe('recorder: frame rate and bitrate', () => {
  /** A canvas stand-in that notes the frame rate it is captured at. */
  const capturing = () => {
    const rates: number[] = [];
    const source = {
      captureStream: (fps: number) => {
        rates.push(fps);
        return { getTracks: () => [] };
      },
    } as unknown as HTMLCanvasElement;
    return { rates, source };
  };

  it('records at the frame rate and bitrate the service hands out (its config)', async () => {
    const svc = service();
    Object.assign(svc.config, { frameRate: 10, videoBitsPerSecond: 800_000 });
    const { rates, source } = capturing();
    const { r } = recorder(svc, { source });
    await r.start();
    expect(rates).toEqual([10]);
    expect(media().options).toMatchObject({ videoBitsPerSecond: 800_000 });
    await r.abort();
  });

  it("takes the page's own frameRate and videoBitsPerSecond over the service's", async () => {
    const svc = service();
    Object.assign(svc.config, { frameRate: 10, videoBitsPerSecond: 800_000 });
    const { rates, source } = capturing();
    const { r } = recorder(svc, { source, frameRate: 24, videoBitsPerSecond: 2_000_000 });
    await r.start();
    expect(rates).toEqual([24]);
    expect(media().options).toMatchObject({ videoBitsPerSecond: 2_000_000 });
    await r.abort();
  });

  it('falls back to 15 fps and 1.5 Mbit/s when the service names neither', async () => {
    const { rates, source } = capturing();
    const { r } = recorder(service(), { source });
    await r.start();
    expect(rates).toEqual([15]);
    expect(media().options).toMatchObject({ videoBitsPerSecond: 1_500_000 });
    await r.abort();
  });
});

describe("recorder: maxLagMs holds whatever chunk size the browser picks (the lag timer's requestData)", () => {
  /** A MediaRecorder that hands over nothing by itself (timeslice ignored), only when asked or at stop. */
  class AskOnly extends FakeMediaRecorder {
    asked = 0;
    askedWhilePaused = 0;
    requestData(): void {
      this.asked++;
      if (this.state !== 'recording') this.askedWhilePaused++;
      else setTimeout(() => this.chunk(10), 1);
    }
  }
  /** Hands over a chunk every `timesliceMs` by itself, as Chromium does with a timeslice; counts requestData. */
  class OnTime extends AskOnly {
    private timer: ReturnType<typeof setInterval> | null = null;
    override start(): void {
      super.start();
      this.timer = setInterval(() => this.state === 'recording' && this.chunk(10), 50);
    }
    override stop(): void {
      if (this.timer) clearInterval(this.timer);
      super.stop();
    }
  }
  // maxLagMs 200 (timeslice 100 by the SDK's rule; OnTime's 50 is on time), parts closed by time only.
  const lagged = { mimeTypes: ['video/mp4'], partSizeBytes: 1_000_000, maxLagMs: 200 };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('asks a recorder that hands over nothing by itself about once per maxLagMs, and its parts go up', async () => {
    vi.stubGlobal('MediaRecorder', AskOnly);
    const svc = service();
    const { r, seen } = recorder(svc, lagged);
    await r.start();
    await sleep(1000);
    const m = media() as AskOnly;
    const asked = m.asked;
    await r.stop();
    // 1000 ms / 200: about 5. At least 3 on a loaded machine (timers late), at most one per timeslice.
    expect(asked).toBeGreaterThanOrEqual(3);
    expect(asked).toBeLessThanOrEqual(10);
    // Each answer closed a part by time: the data did not wait for stop().
    expect(svc.log.puts.size).toBeGreaterThanOrEqual(3);
    expect(seen.errors).toEqual([]);
  });

  it('does not ask while paused; asks again after resume', async () => {
    vi.stubGlobal('MediaRecorder', AskOnly);
    const svc = service();
    const { r } = recorder(svc, lagged);
    await r.start();
    await sleep(300);
    r.pause();
    const m = media() as AskOnly;
    const atPause = m.asked;
    await sleep(600);
    // The one request made as it pauses (before MediaRecorder pauses), none during the pause.
    expect(m.askedWhilePaused).toBe(0);
    expect(m.asked).toBe(atPause);
    r.resume();
    await sleep(600);
    expect(m.asked).toBeGreaterThan(atPause);
    expect(m.askedWhilePaused).toBe(0);
    await r.stop();
  });

  it('asks a recorder whose chunks come on time no more than before (once per maxLagMs, no extra flush)', async () => {
    vi.stubGlobal('MediaRecorder', OnTime);
    const svc = service();
    const { r } = recorder(svc, lagged);
    await r.start();
    await sleep(1000);
    const asked = (media() as AskOnly).asked;
    await r.stop();
    expect(asked).toBeLessThanOrEqual(6);
  });
});

describe("recorder: part uploads that never reach their server say so ('upload_blocked', uploadState 'stalled')", () => {
  it('emits the error once, says stalled while capture goes on, and returns to ok when a part is stored', async () => {
    let open = false;
    const svc = service({
      put: (n) => {
        if (!open) throw new TypeError('Failed to fetch');
        return new Response(null, { status: 200, headers: { ETag: `"e${n}"` } });
      },
    });
    const { r, seen } = recorder(svc);
    const uploadStates: string[] = [];
    r.on('uploadstatechange', ({ uploadState }) => uploadStates.push(uploadState));
    await r.start();
    media().chunk(100);
    // STALL_AFTER_MS (4 s) after the first failure, tried every 1-2 ms meanwhile.
    await vi.waitFor(() => expect(r.uploadState).toBe('stalled'), { timeout: 15_000, interval: 20 });
    expect(r.state).toBe('recording');
    expect(seen.errors.map((e) => e.code)).toEqual(['upload_blocked']);
    expect(seen.errors[0]!.message).toContain('https://store.test');
    media().chunk(100);
    open = true;
    await vi.waitFor(() => expect(r.uploadState).toBe('ok'), { timeout: 5000, interval: 5 });
    const rec = await r.stop();
    expect(rec.status).toBe('ready');
    expect(uploadStates).toEqual(['stalled', 'ok']);
    expect(seen.errors).toHaveLength(1);
  });
});
