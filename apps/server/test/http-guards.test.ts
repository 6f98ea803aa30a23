/**
 * Bodies, headers, hosts.
 * - every body read whole is limited (2 MiB) and refused before it is
 *   buffered: a 300 MB body to /api/demo/token is answered 413 while most of
 *   it is still unsent, over a real socket;
 * - security headers (CSP, frame-ancestors, nosniff, Referrer-Policy) on the
 *   pages, the API and the downloads;
 * - SORTIE_PUBLIC_URL required in production with recording enabled;
 * - a storage path or an embedded database inside the web root refused at start.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { assertOutsideWebRoot, isInside } from '../src/lib/web-root.js';
import { buildService, WEB_ROOT } from '../src/server.js';
import { makeRecording } from './admin-fixtures.js';
import { TEST_SECRET, testApp, type TestApp } from './helpers.js';

let demo: TestApp;
let server: ServerType;
let port: number;
beforeAll(async () => {
  demo = await testApp({ env: { SORTIE_DEMO: 'true', SORTIE_AUTH_JWT_SECRET: '' } });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: demo.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      port = info.port;
      resolve();
    });
  });
});
afterAll(async () => {
  await new Promise<void>((r) => {
    if (!server) return r();
    (server as http.Server).closeAllConnections();
    server.close(() => r());
  });
  await demo?.close();
});

/**
 * Sends `total` bytes of body in 64 KiB chunks, as fast as the socket takes them, until the answer comes.
 * chunked: no Content-Length (the limit must count while reading). Resolves with the status and the bytes sent.
 */
function sendHuge(
  pathname: string,
  total: number,
  opts: { chunked: boolean; headers?: Record<string, string> },
): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: pathname,
      headers: {
        'content-type': 'application/json',
        ...(opts.chunked ? {} : { 'content-length': String(total) }),
        ...opts.headers,
      },
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    req.on('response', (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode!, sent });
      req.destroy();
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('JSON body limit on every route that reads one', () => {
  const HUGE = 300 * 1024 * 1024;

  it('a 300 MB body with Content-Length to /api/demo/token: 413 while most of it is unsent', async () => {
    const { status, sent } = await sendHuge('/api/demo/token', HUGE, { chunked: false });

    expect(status).toBe(413);
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('the same without Content-Length (chunked): 413 once past 2 MiB, not after buffering all', async () => {
    const { status, sent } = await sendHuge('/api/demo/token', HUGE, { chunked: true });

    expect(status).toBe(413);
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('admin and recording routes refuse a 3 MiB body with 413 payload_too_large', async () => {
    const tok = ((await (await demo.json('POST', '/api/demo/token', { as: 'admin' })).json()) as { token: string })
      .token;
    const headers = { authorization: `Bearer ${tok}` };
    const big = JSON.stringify({ autoRecord: true, pad: 'x'.repeat(3 * 1024 * 1024) });
    for (const [method, p] of [
      ['PUT', '/api/admin/settings'],
      ['POST', '/api/admin/retention/run'],
      ['POST', '/api/recordings'],
      ['POST', '/api/recordings/00000000-0000-4000-8000-000000000000/stop'],
    ]) {
      const res = await demo.json(method!, p!, big, headers);
      expect(res.status, `${method} ${p}`).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    }
  });

  it('a body under the limit still works', async () => {
    expect((await demo.json('POST', '/api/demo/token', { as: 'user' })).status).toBe(200);
  });
});

describe('security headers', () => {
  const csp = (res: Response) => res.headers.get('content-security-policy') ?? '';

  it('API answers, errors included: a CSP that allows nothing, nosniff, no referrer, no framing', async () => {
    for (const p of ['/api/recordings', '/api/demo', '/api/nope', '/healthz']) {
      const res = await demo.app.request(p);
      expect(csp(res), p).toContain("default-src 'none'");
      expect(csp(res), p).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options'), p).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), p).toBe('no-referrer');
    }
  });

  it('downloads: sandboxed, nosniff; a download URL may be played cross-origin (<video src>)', async () => {
    const t = await testApp({ database: demo.database });
    try {
      const rec = await makeRecording(t, 'ready');
      const own = await t.app.request(`/api/recordings/${rec.id}/download`, { headers: t.auth.user });
      await own.body?.cancel();
      expect(csp(own)).toMatch(/sandbox/);
      expect(own.headers.get('x-content-type-options')).toBe('nosniff');
      const { url } = (await (
        await t.json('POST', `/api/recordings/${rec.id}/download-url`, undefined, t.auth.user)
      ).json()) as { url: string };
      if (url.includes('/api/files/')) {
        const file = await t.app.request(new URL(url).pathname);
        await file.body?.cancel();
        expect(file.status).toBe(200);
        expect(csp(file)).toMatch(/sandbox/);
        expect(file.headers.get('x-content-type-options')).toBe('nosniff');
        expect(file.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      }
    } finally {
      await t.close();
    }
  });

  it("pages: scripts only from the service, frame-ancestors 'self', nosniff, no referrer", async () => {
    const res = await demo.app.request('/admin');
    expect(csp(res)).toContain("script-src 'self'");
    expect(csp(res)).toContain("frame-ancestors 'self'");
    expect(csp(res)).toContain("object-src 'none'");
    // The recorder's compositor paces frames from a Blob-URL worker.
    expect(csp(res)).toContain("worker-src 'self' blob:");
    expect(csp(res)).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('pages may reach the bucket of the S3 backend and SORTIE_PUBLIC_URL', async () => {
    const t = await testApp({
      env: {
        SORTIE_PUBLIC_URL: 'https://rec.example.com',
        SORTIE_RECORDING_STORAGE_BACKEND: 's3',
        SORTIE_RECORDING_S3_BUCKET: 'b',
        SORTIE_RECORDING_S3_ENDPOINT: 'https://minio.example.com:9000',
      },
      database: demo.database,
    });
    try {
      const policy = csp(await t.app.request('/'));
      expect(policy).toMatch(/connect-src 'self' https:\/\/rec\.example\.com https:\/\/minio\.example\.com:9000/);
      expect(policy).toMatch(/media-src 'self' https:\/\/rec\.example\.com blob: https:\/\/minio\.example\.com:9000/);
    } finally {
      await t.close();
    }
  });
});

describe('SORTIE_PUBLIC_URL in production', () => {
  const base = { SORTIE_AUTH_JWT_SECRET: TEST_SECRET, SORTIE_VIDEO_RECORDING_ENABLED: 'true' };

  it.each(['production', 'Production', 'PROD'])('is required with recording enabled under NODE_ENV=%s', (NODE_ENV) => {
    expect(() => loadConfig({ ...base, NODE_ENV })).toThrowError(ConfigError);
    try {
      loadConfig({ ...base, NODE_ENV });
    } catch (err) {
      expect((err as ConfigError).variable).toBe('SORTIE_PUBLIC_URL');
    }
  });

  it('the Helm chart (NODE_ENV=production) refuses recording.enabled without publicUrl', () => {
    const helpers = readFileSync(
      fileURLToPath(new URL('../../../helm/sortie-recording/templates/_helpers.tpl', import.meta.url)),
      'utf8',
    );
    expect(helpers).toMatch(
      /\{\{- if and \.Values\.recording\.enabled \(not \.Values\.publicUrl\) -\}\}\n\{\{- fail "set publicUrl/,
    );
  });

  it('is not required outside production, nor with recording disabled; set, it is used', () => {
    expect(loadConfig({ ...base, NODE_ENV: 'development' }).publicUrl).toBeNull();
    expect(
      loadConfig({ ...base, NODE_ENV: 'production', SORTIE_VIDEO_RECORDING_ENABLED: 'false' }).publicUrl,
    ).toBeNull();
    expect(
      loadConfig({ ...base, NODE_ENV: 'production', SORTIE_PUBLIC_URL: 'https://rec.example.com/' }).publicUrl,
    ).toBe('https://rec.example.com');
  });
});

describe('paths inside the web root', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sortie-webroot-'));
  const webRoot = path.join(dir, 'dist');
  mkdirSync(webRoot);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = (
    over: Partial<{ storageBackend: 'local' | 's3'; storagePath: string; databaseUrl: string | null; dataDir: string }>,
  ) => ({
    storageBackend: 'local' as const,
    storagePath: path.join(dir, 'recordings'),
    databaseUrl: null,
    dataDir: path.join(dir, 'db'),
    ...over,
  });
  const variableOf = (c: ReturnType<typeof cfg>) => {
    try {
      assertOutsideWebRoot(c, webRoot);
      return null;
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).variable;
    }
  };

  it('refuses the storage path at, under, or linked into the web root; allows it beside', () => {
    expect(variableOf(cfg({}))).toBeNull();
    expect(variableOf(cfg({ storagePath: webRoot }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    expect(variableOf(cfg({ storagePath: path.join(webRoot, 'rec') }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    expect(variableOf(cfg({ storagePath: path.join(webRoot, 'a', '..', 'b') }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    symlinkSync(webRoot, path.join(dir, 'link'));
    expect(variableOf(cfg({ storagePath: path.join(dir, 'link', 'rec') }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    // Names that merely start with two dots are names inside it, not a way out.
    expect(variableOf(cfg({ storagePath: path.join(webRoot, '..rec') }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    expect(variableOf(cfg({ storagePath: path.join(webRoot, '...') }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    expect(variableOf(cfg({ storagePath: `${webRoot}/..rec/x` }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    expect(variableOf(cfg({ dataDir: path.join(webRoot, '..db') }))).toBe('SORTIE_DATA_DIR');
    // A real `..` still climbs out: dist/../rec is beside the web root.
    expect(variableOf(cfg({ storagePath: `${webRoot}/../rec` }))).toBeNull();
    // A link inside the web root that points out of it, and one beside it that points in.
    mkdirSync(path.join(dir, 'outside'));
    symlinkSync(path.join(dir, 'outside'), path.join(webRoot, 'out-link'));
    expect(variableOf(cfg({ storagePath: path.join(webRoot, 'out-link', 'rec') }))).toBeNull();
    mkdirSync(path.join(webRoot, '..hidden'));
    symlinkSync(path.join(webRoot, '..hidden'), path.join(dir, 'in-link'));
    expect(variableOf(cfg({ storagePath: path.join(dir, 'in-link') }))).toBe('SORTIE_RECORDING_STORAGE_PATH');
    // A sibling whose name merely starts like the web root is outside it.
    expect(isInside(path.join(dir, 'dist-recordings'), webRoot)).toBe(false);
    // The S3 backend keeps nothing on disk.
    expect(variableOf(cfg({ storageBackend: 's3', storagePath: webRoot }))).toBeNull();
  });

  it('refuses the embedded database there too (it holds the signing key), unless it is PostgreSQL or in memory', () => {
    expect(variableOf(cfg({ dataDir: path.join(webRoot, '.sortie') }))).toBe('SORTIE_DATA_DIR');
    expect(variableOf(cfg({ dataDir: path.join(webRoot, '.sortie'), databaseUrl: 'postgres://x/y' }))).toBeNull();
    expect(variableOf(cfg({ dataDir: 'memory://' }))).toBeNull();
  });

  it('the process stops at start with one line naming the variable, exit code 1', async () => {
    const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('SORTIE_') && k !== 'DATABASE_URL' && k !== 'NODE_ENV'),
    );
    const env = {
      ...clean,
      PORT: '0',
      SORTIE_AUTH_JWT_SECRET: TEST_SECRET,
      SORTIE_RECORDING_STORAGE_PATH: path.join(WEB_ROOT, 'rec'),
    };
    const result = await promisify(execFile)(tsx, [entry], { env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    const lines = result.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.includes('Unknown user config'));
    expect(lines).toEqual([
      expect.stringMatching(
        /^sortie: invalid configuration: SORTIE_RECORDING_STORAGE_PATH: must not be inside the web root/,
      ),
    ]);
  }, 90_000);

  it('buildService refuses to start with the storage path inside the real web root', async () => {
    const config = loadConfig({
      SORTIE_AUTH_JWT_SECRET: TEST_SECRET,
      SORTIE_RECORDING_STORAGE_PATH: path.join(WEB_ROOT, 'recordings'),
    });
    await expect(buildService(config, { jobs: false })).rejects.toThrowError(
      /^SORTIE_RECORDING_STORAGE_PATH: must not be inside the web root/,
    );
  });
});
