/**
 * What every browser test needs: the real service on loopback (a throwaway
 * embedded PostgreSQL, local storage in a temp dir), Debian's Chromium through
 * playwright-core, and a page on the service's own origin that carries the
 * SDK bundled from source with esbuild.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildService, type Service } from '@sortie/server';
import { loadConfig } from '@sortie/server/config';
import type { TestPage } from './driver.js';
import type { RunOptions, RunResult } from './page-entry.js';

export const JWT_SECRET = 'browser-tests-secret-0123456789abcdef';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--autoplay-policy=no-user-gesture-required',
  // The test page is served by page.route, so Chromium knows no address for it and counts it public: its
  // requests to the loopback S3 server (another port) would then be refused as local network access.
  '--disable-features=LocalNetworkAccessChecks',
];

export interface TestService {
  baseUrl: string;
  service: Service;
  close(): Promise<void>;
}

type Logger = NonNullable<NonNullable<Parameters<typeof buildService>[1]>['logger']>;

/** The service's request log would drown the test output: keep warnings and errors only. */
function quietLogger(): Logger {
  const print = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    console.error(`[service ${level}] ${msg}`, fields ?? '');
  return { info: () => {}, warn: print('warn'), error: print('error'), child: () => quietLogger() };
}

/** `clock`: the service's time (the sweeper's abandon window is measured by it); default the system's. */
export async function startService(
  env: Record<string, string> = {},
  opts: { clock?: { now(): Date } } = {},
): Promise<TestService> {
  const storage = await mkdtemp(join(tmpdir(), 'sortie-recorder-'));
  const config = loadConfig({
    SORTIE_VIDEO_RECORDING_ENABLED: 'true',
    SORTIE_DATA_DIR: 'memory://',
    SORTIE_RECORDING_STORAGE_PATH: storage,
    SORTIE_AUTH_JWT_SECRET: JWT_SECRET,
    ...env,
  });
  const service = await buildService(config, {
    jobs: false,
    logger: quietLogger(),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const { port } = await service.listen(0, '127.0.0.1');
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    service,
    async close() {
      await service.close();
      await rm(storage, { recursive: true, force: true });
    },
  };
}

/** An HS256 token the service accepts, with the lifetime asked for. */
export function mintToken(claims: { sub: string; name?: string; role?: string }, ttlSeconds: number): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, iat: now, exp: now + ttlSeconds })}`;
  return `${body}.${createHmac('sha256', JWT_SECRET).update(body).digest('base64url')}`;
}

export const USER = { sub: 'demo-user', name: 'Demo User', role: 'user' };

const bundled = new Map<string, Promise<string>>();

/** The SDK and page helpers, bundled from source for the browser; `entry` is a file beside this one. */
export function pageScript(entry = './page-entry.ts'): Promise<string> {
  let script = bundled.get(entry);
  if (!script) {
    script = build({
      entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
      bundle: true,
      format: 'iife',
      target: 'es2022',
      write: false,
    }).then((r) => r.outputFiles[0]!.text);
    bundled.set(entry, script);
  }
  return script;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

/** A page at `${baseUrl}/__test__/` (same origin as the API, so no CORS) with the SDK loaded. */
export async function openPage(browser: Browser, baseUrl: string, entry?: string): Promise<Page> {
  return loadPage(await browser.newPage(), baseUrl, entry);
}

/** Loads `${baseUrl}/__test__/` with the bundled `entry` (default page-entry.ts) into a page already open. */
export async function loadPage(page: Page, baseUrl: string, entry?: string): Promise<Page> {
  const script = await pageScript(entry);
  await page.route(`${baseUrl}/__test__/`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html><body><script>${script.replace(/<\/script/gi, '<\\/script')}</script></body></html>`,
    }),
  );
  page.on('pageerror', (err) => console.error('[page error]', err));
  await page.goto(`${baseUrl}/__test__/`);
  return page;
}

/** Fetches the stored file through the API as the demo user. */
export async function download(baseUrl: string, id: string): Promise<Buffer> {
  const res = await fetch(`${baseUrl}/api/recordings/${id}/download`, {
    headers: { Authorization: `Bearer ${mintToken(USER, 600)}` },
  });
  if (!res.ok) throw new Error(`download answered ${res.status}: ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

/** ffprobe's view of a file: the container's duration, where the last video packet ends, and every packet's time (seconds). */
export function probe(bytes: Uint8Array): {
  formatDuration: number;
  lastPacketEnd: number;
  packets: number;
  times: number[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'sortie-probe-'));
  const file = join(dir, 'recording.webm');
  try {
    writeFileSync(file, bytes);
    const format = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file])
      .toString()
      .trim();
    const packets = execFileSync('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time,duration_time',
      '-of',
      'csv=p=0',
      file,
    ])
      .toString()
      .trim()
      .split('\n')
      .map((line) => line.split(',').map(Number));
    const lastPacketEnd = Math.max(...packets.map(([pts = 0, dur = 0]) => pts + (Number.isFinite(dur) ? dur : 0)));
    const times = packets.map(([pts = 0]) => pts).sort((a, b) => a - b);
    return { formatDuration: Number(format), lastPacketEnd, packets: packets.length, times };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function downloadUrl(baseUrl: string, id: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/recordings/${id}/download-url`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${mintToken(USER, 600)}` },
  });
  if (!res.ok) throw new Error(`download-url answered ${res.status}`);
  return ((await res.json()) as { url: string }).url;
}

/**
 * Runs page-entry's runRecording in the page (typed loosely for the drivers' serializers, precisely for the
 * test); a Playwright page or a driver.ts TestPage.
 */
export function runRecording(page: Page | Pick<TestPage, 'evaluate'>, opts: RunOptions): Promise<RunResult> {
  const fn = (o: unknown) => (window as unknown as { runRecording(o: unknown): Promise<unknown> }).runRecording(o);
  return (page as Pick<TestPage, 'evaluate'>).evaluate(fn, opts as unknown) as Promise<RunResult>;
}
