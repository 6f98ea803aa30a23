/**
 * Two replicas behind a health-checking round-robin proxy (proxy.ts), one database, one storage (a shared folder,
 * as a ReadWriteMany volume, or one bucket), SORTIE_PUBLIC_URL the proxy's address: real Chromium records a canvas
 * through the proxy, and one replica is SIGKILLed mid-recording and stays down. The recording must end `ready`,
 * byte for byte what the browser recorded (with the SDK's Duration written in), and decode and seek in ffmpeg.
 * The replicas are real processes (apps/server/test/process-fixtures.ts) on the PostgreSQL at 127.0.0.1:5432.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebmDuration } from '@sortie/webm';
import { testDatabase } from '../../../../apps/server/test/helpers.js';
import { serviceEnv, startProcess } from '../../../../apps/server/test/process-fixtures.js';
import { s3Env, startS3Server } from '../../../../apps/server/test/s3-server.js';
import { download, JWT_SECRET, launch, mintToken, openPage, probe, runRecording, USER } from './harness.js';
import type { RunResult } from './page-entry.js';
import { startProxy, type Proxy } from './proxy.js';
import { backendsUnderTest, CORS_XML } from './s3-harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
  cleanups.push(() => browser.close());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('[cleanup]', err));
});

const until = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Frames ffmpeg decodes from the start, and from the middle (-ss before -i: a seek in the file); an error throws. */
async function decodes(bytes: Buffer, seekTo: number): Promise<{ frames: number; framesFromMiddle: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'sortie-replicas-'));
  try {
    const file = join(dir, 'recording.webm');
    await writeFile(file, bytes);
    const count = (args: string[]) => {
      const run = spawnSync('ffmpeg', ['-v', 'error', ...args, '-fps_mode', 'passthrough', '-f', 'framemd5', '-']);
      if (run.status !== 0 || run.stderr.length > 0) throw new Error(`ffmpeg ${args.join(' ')}: ${run.stderr}`);
      return run.stdout
        .toString()
        .split('\n')
        .filter((l) => /^\d/.test(l)).length;
    };
    return { frames: count(['-i', file]), framesFromMiddle: count(['-ss', String(seekTo), '-i', file]) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.each(backendsUnderTest())('two replicas behind a balancer, one killed mid-recording (%s)', (backend) => {
  let proxy: Proxy;
  let replicas: ReturnType<typeof startProcess>[];
  let page: Page;
  let result: RunResult;
  let stored: Buffer;
  let killedAt: number;
  let stopSeenBeforeKill: boolean;
  let victim: number;

  beforeAll(async () => {
    const db = await testDatabase('postgres');
    cleanups.push(() => db.close());
    proxy = await startProxy();
    cleanups.push(() => proxy.close());
    const shared = await mkdtemp(join(tmpdir(), 'sortie-replicas-storage-'));
    cleanups.push(() => rm(shared, { recursive: true, force: true }));
    let storage: Record<string, string> = { SORTIE_RECORDING_STORAGE_PATH: shared };
    if (backend === 's3') {
      const s3 = await startS3Server({ bucket: 'sortie-replicas', corsXml: CORS_XML });
      cleanups.push(() => s3.close());
      storage = s3Env(s3, `replicas-${randomUUID().slice(0, 8)}/`);
    }
    replicas = [];
    for (let i = 0; i < 2; i++) {
      const env = await serviceEnv('sortie-replica-', cleanups, { databaseUrl: db.url! });
      const proc = startProcess({
        ...env,
        ...storage,
        SORTIE_AUTH_JWT_SECRET: JWT_SECRET,
        SORTIE_PUBLIC_URL: proxy.url,
      });
      const child: ChildProcess = proc.child;
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      replicas.push(proc);
    }
    const ports = await Promise.all(
      replicas.map(async (r) => ((await r.waitFor('listening')) as { port: number }).port),
    );
    proxy.setUpstreams(ports.map((p) => `http://127.0.0.1:${p}`));
    await until('both replicas in the rotation', () => proxy.healthy().every(Boolean));

    page = await openPage(browser, proxy.url);
    cleanups.push(() => page.close());
    await page.exposeFunction('testToken', () => mintToken(USER, 600));

    const running = runRecording(page, {
      sessionId: `sess-replicas-${backend}`,
      seconds: 7,
      // Small parts on local, so that uploads are in flight throughout; S3 keeps its 5 MiB floor (tails meanwhile).
      recorder: { timesliceMs: 500, ...(backend === 'local' ? { partSizeBytes: 64 * 1024 } : {}) },
    });
    // The victim is the replica that created the recording; it dies once the recording has made a request of its
    // own (a part, its URLs, tails), and before the SDK stops.
    const isRecordingRequest = (path: string) =>
      /^\/api\/recordings\/[0-9a-f-]{36}\//.test(path) || path.startsWith('/api/uploads/');
    await until('the recording to start uploading', () =>
      proxy.log.some((e) => e.status !== 0 && isRecordingRequest(e.path)),
    );
    victim = proxy.log.find((e) => e.method === 'POST' && e.path === '/api/recordings')!.upstream;
    stopSeenBeforeKill = proxy.log.some((e) => e.path.endsWith('/stop'));
    replicas[victim]!.child.kill('SIGKILL');
    killedAt = proxy.log.length;
    result = await running;
    if (result.recording) stored = await download(proxy.url, result.recording.id);
  }, 240_000);

  it('the replica was killed mid-recording, stayed down, and the other served the rest', async () => {
    expect(stopSeenBeforeKill).toBe(false);
    const survivor = 1 - victim;
    expect(await replicas[victim]!.exited).toBeNull();
    expect(replicas[victim]!.child.signalCode).toBe('SIGKILL');
    expect(proxy.healthy()[victim]).toBe(false);
    expect(proxy.healthy()[survivor]).toBe(true);
    const after = proxy.log.slice(killedAt);
    expect(after.some((e) => e.upstream === survivor && e.path.endsWith('/stop') && e.status === 200)).toBe(true);
    expect(after.some((e) => e.upstream === survivor && e.path.endsWith('/complete') && e.status === 200)).toBe(true);
    expect(replicas[survivor]!.child.exitCode).toBeNull();
    const failedOnVictim = after.filter((e) => e.status === 502).length;
    console.info(
      `${backend}: ${proxy.log.length} requests through the proxy, ${killedAt} before the kill; ` +
        `${failedOnVictim} answered 502 after it; SDK errors: ${JSON.stringify(result.errors)}`,
    );
  });

  it('ends ready, byte for byte what the browser recorded', () => {
    expect(result.failure).toBeNull();
    expect(result.recording?.status).toBe('ready');
    expect(result.recording?.endedBy).toBe('stop');
    const recorded = new Uint8Array(Buffer.from(result.chunks, 'base64'));
    const expected = setWebmDuration(recorded, result.recording!.durationMs!)!;
    expect(stored.length).toBe(expected.length);
    expect(stored.equals(Buffer.from(expected))).toBe(true);
  });

  it('decodes in ffmpeg from the start and from the middle', async () => {
    const seconds = result.recording!.durationMs! / 1000;
    const p = probe(stored);
    expect(Math.abs(p.formatDuration - seconds)).toBeLessThan(0.5);
    expect(Math.abs(p.lastPacketEnd - seconds)).toBeLessThan(0.5);
    const { frames, framesFromMiddle } = await decodes(stored, seconds / 2);
    console.info(
      `${backend}: ${seconds} s, ${stored.length} bytes, ${frames} frames, ${framesFromMiddle} from the middle`,
    );
    expect(frames).toBeGreaterThan(0);
    expect(framesFromMiddle).toBeGreaterThan(0);
    expect(framesFromMiddle).toBeLessThan(frames);
  });
});
