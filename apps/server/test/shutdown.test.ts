/**
 * Graceful shutdown of the real process: SIGTERM while a 50 MiB part is
 * streaming in. The part must finish and be stored, a new request must be
 * refused, and the process must exit 0.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { crc32c } from '@node-rs/crc32';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { buildService } from '../src/server.js';
import { memoryLogger } from '../src/lib/logger.js';
import { testApp, token } from './helpers.js';
import { serviceEnv, startProcess } from './process-fixtures.js';

const PART = 50 * 1024 * 1024;
const CHUNK = 1024 * 1024;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A PUT whose body the test writes chunk by chunk, to hold it in flight. */
function slowPut(url: string, size: number) {
  const req = http.request(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    agent: false,
  });
  const response = new Promise<{ status: number; etag: string | null; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, etag: (res.headers.etag as string | undefined) ?? null, body }),
      );
    });
    req.on('error', reject);
  });
  response.catch(() => {}); // awaited later; a cut connection must not count as unhandled meanwhile
  const hash = createHash('md5');
  let crc = 0;
  let sent = 0;
  return {
    response,
    hash,
    /** The CRC-32C of what was sent, as the local ETag begins. */
    crc: () => crc,
    /** Writes `bytes` more, a chunk at a time, pausing between chunks like a slow uplink. */
    async send(bytes: number, pauseMs: number) {
      const end = Math.min(size, sent + bytes);
      while (sent < end) {
        const chunk = randomBytes(Math.min(CHUNK, end - sent));
        hash.update(chunk);
        crc = crc32c(chunk, crc);
        sent += chunk.length;
        if (req.destroyed) return; // cut by the server: the response promise says how
        if (!req.write(chunk)) await new Promise((r) => (req.once('drain', r), req.once('close', r)));
        await new Promise((r) => setTimeout(r, pauseMs));
      }
      if (sent === size) req.end();
    },
  };
}

/** A fresh connection to the service: resolves with the status, or the connection error's code. */
function newRequest(port: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

describe('graceful shutdown', () => {
  it(
    'on SIGTERM finishes and stores a 50 MiB part in flight, refuses a new request, and exits 0',
    { timeout: 120_000 },
    async () => {
      const env = await serviceEnv('sortie-shutdown-', cleanups);

      const proc = startProcess(env);
      let child: ChildProcess | null = proc.child;
      cleanups.push(async () => {
        if (child && child.exitCode === null) child.kill('SIGKILL');
      });
      const { port } = (await proc.waitFor('listening')) as { port: number };
      const base = `http://127.0.0.1:${port}`;
      const auth = {
        authorization: `Bearer ${await token({ sub: 'u-1', name: 'Ada' })}`,
        'content-type': 'application/json',
      };

      const created = await fetch(`${base}/api/recordings`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ sessionId: 's-1', mimeType: 'video/webm' }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const partRes = await fetch(`${base}/api/recordings/${id}/parts`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ partNumber: 1, sizeBytes: PART }),
      });
      expect(partRes.status).toBe(200);
      const { url } = (await partRes.json()) as { url: string };

      // 8 MiB in, then SIGTERM while the remaining 42 MiB are still to come.
      const put = slowPut(url, PART);
      await put.send(8 * CHUNK, 20);
      proc.child.kill('SIGTERM');
      const shuttingDown = await proc.waitFor('shutting down');
      expect(shuttingDown.inFlight).toBe(1);

      // The listener is closed: a new connection is refused while the upload drains.
      // Refused at connect, or reset when the kernel had already queued it on the closing
      // listener (seen on a loaded machine): either way no new request reaches the app.
      const refused = await newRequest(port);
      expect(refused.status).toBeUndefined();
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(refused.error);
      expect(proc.child.exitCode).toBeNull();

      await put.send(PART, 20);
      const answer = await put.response;
      const md5 = `"${put.hash.digest('hex')}"`;
      expect(answer.status).toBe(200);
      // The local ETag: the CRC-32 and length of the bytes sent, and the stored version's nonce.
      expect(answer.etag).toMatch(
        new RegExp(`^"${put.crc().toString(16).padStart(8, '0')}-${PART.toString(16)}-[0-9a-f]{16}"$`),
      );
      const etag = answer.etag!;

      expect(await proc.exited).toBe(0);
      child = null;
      expect(proc.lines.some((l) => l.msg === 'stopped')).toBe(true);

      // Stored for good: a new process on the same database and disk completes the recording with that ETag.
      const again = await buildService(loadConfig(env), { jobs: false, logger: memoryLogger() });
      try {
        const done = await again.app.request(`/api/recordings/${id}/complete`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ durationMs: 5000, parts: [{ partNumber: 1, etag }] }),
        });
        expect(done.status).toBe(200);
        expect(await done.json()).toMatchObject({ status: 'ready', sizeBytes: PART });
        const dl = await again.app.request(`/api/recordings/${id}/download`, { headers: auth });
        expect(dl.status).toBe(200);
        const h = createHash('md5');
        for await (const chunk of dl.body as unknown as AsyncIterable<Uint8Array>) h.update(chunk);
        expect(`"${h.digest('hex')}"`).toBe(md5);
      } finally {
        await again.close({ deadlineMs: 0 });
      }
    },
  );

  it(
    "loses no log line on SIGTERM: the last request's line and 'stopped' are on stdout after exit",
    { timeout: 60_000 },
    async () => {
      // Log lines are buffered and written off the event loop; they must still all be out when the
      // process exits. 'stopped' is logged right before process.exit(0), so only the flush at exit
      // can write it.
      const env = await serviceEnv('sortie-shutdown-log-', cleanups);
      const proc = startProcess(env);
      cleanups.push(async () => {
        if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      });
      const { port } = (await proc.waitFor('listening')) as { port: number };
      const requestId = 'log-on-sigterm-1';
      const listed = await fetch(`http://127.0.0.1:${port}/api/recordings`, {
        headers: { authorization: `Bearer ${await token({ sub: 'u-1', name: 'Ada' })}`, 'x-request-id': requestId },
      });
      expect(listed.status).toBe(200);
      await listed.arrayBuffer();
      // 'close' comes after the child's stdout has ended: every line it wrote has been read.
      const closed = new Promise((r) => proc.child.once('close', r));
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      await closed;
      expect(proc.lines).toContainEqual(
        expect.objectContaining({ msg: 'request', requestId, method: 'GET', route: '/api/recordings', status: 200 }),
      );
      expect(proc.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    },
  );

  it('answers a request that reaches the app after draining began with 503 service_unavailable', async () => {
    const t = await testApp();
    cleanups.push(() => t.close());
    expect((await t.app.request('/healthz')).status).toBe(200);
    t.service.drain.begin();
    const r = await t.app.request('/api/recordings', { headers: t.auth.user });
    expect(r.status).toBe(503);
    expect(r.headers.get('connection')).toBe('close');
    expect(await r.json()).toEqual({ error: { code: 'service_unavailable', message: expect.any(String) } });
  });
});
