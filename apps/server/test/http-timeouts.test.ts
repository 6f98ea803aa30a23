/**
 * Slow clients are cut off in seconds, not Node's minutes: headers that never finish
 * (SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS) and a JSON or thumbnail body that stalls
 * (SORTIE_HTTP_BODY_TIMEOUT_SECONDS) get 408 and a closed connection. Part bodies keep their own, longer
 * allowance (the uploads' watchdog). Both limits are set to 1 s here, against a client that would otherwise
 * go on for far longer; what is asserted is the 408 and the close, not how long they took.
 *
 * A real listening service on the local backend: the limits are the HTTP server's, whatever the storage (the
 * S3 project does not run this file again).
 */
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.js';
import { memoryLogger } from '../src/lib/logger.js';
import { buildService, type Service } from '../src/server.js';
import { testConfig, testDatabase, token } from './helpers.js';

/** How long a client keeps at it before the test gives up: far beyond the 1 s limits. */
const CLIENT_PATIENCE_MS = 25_000;

let service: Service;
let database: Database;
let storagePath: string;
let port: number;
let auth: string;

beforeAll(async () => {
  storagePath = await mkdtemp(path.join(tmpdir(), 'sortie-timeouts-'));
  database = await testDatabase();
  const config = testConfig({
    SORTIE_RECORDING_STORAGE_PATH: storagePath,
    SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS: '1',
    SORTIE_HTTP_BODY_TIMEOUT_SECONDS: '1',
  });
  service = await buildService(config, { database, jobs: false, logger: memoryLogger() });
  port = (await service.listen(0, '127.0.0.1')).port;
  auth = `Bearer ${await token({ sub: 'u-1' })}`;
});
afterAll(async () => {
  await service?.close({ deadlineMs: 1000 });
  await database?.close();
  await rm(storagePath, { recursive: true, force: true });
});

/**
 * Opens a connection, writes `head`, then calls `drip` every 200 ms (a client that keeps sending, slowly)
 * until the server closes the connection or CLIENT_PATIENCE_MS pass. Resolves with what the server sent and
 * whether it closed the connection.
 */
function slowClient(head: string, drip?: () => string): Promise<{ answer: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let gaveUp = false;
    const dripper = drip ? setInterval(() => socket.write(drip()), 200) : undefined;
    const patience = setTimeout(() => {
      gaveUp = true;
      socket.destroy();
    }, CLIENT_PATIENCE_MS);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(dripper);
      clearTimeout(patience);
      resolve({ answer, closedByServer: !gaveUp });
    });
    socket.write(head);
  });
}

describe('slow clients', () => {
  it('headers sent one line at a time, never finished: 408 and the connection closed', async () => {
    let n = 0;
    const { answer, closedByServer } = await slowClient(
      'GET /api/recordings HTTP/1.1\r\nHost: x\r\n',
      () => `X-Slow-${n++}: 1\r\n`,
    );
    expect(closedByServer).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  }, 60_000);

  it('a JSON body that stalls after a few bytes: 408 with the error body, and the connection closed', async () => {
    const { answer, closedByServer } = await slowClient(
      `POST /api/recordings HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 100\r\n\r\n{"sessionId":',
    );
    expect(closedByServer).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
      error: { code: 'request_timeout' },
    });
  }, 60_000);

  it('a JSON body that trickles a byte every 200 ms (never stalling long) is cut off too', async () => {
    const { answer, closedByServer } = await slowClient(
      `POST /api/recordings HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 100000\r\n\r\n{"sessionId":"',
      () => 'a',
    );
    expect(closedByServer).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  }, 60_000);

  it('a thumbnail body that stalls: 408 and closed', async () => {
    const created = await fetch(`http://127.0.0.1:${port}/api/recordings`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: 'timeouts', mimeType: 'video/webm' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const { answer, closedByServer } = await slowClient(
      `PUT /api/recordings/${id}/thumbnails/0 HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n` +
        'Content-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n\xff\xd8\xff\xe0',
    );
    expect(closedByServer).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  }, 60_000);

  it('a part body that pauses longer than the body limit is still received (parts have their own watchdog)', async () => {
    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/api/recordings`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: 'timeouts-part', mimeType: 'video/webm' }),
    });
    const { id } = (await created.json()) as { id: string };
    const part = await fetch(`${base}/api/recordings/${id}/parts`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ partNumber: 1, sizeBytes: 10 }),
    });
    expect(part.status).toBe(200);
    const { url } = (await part.json()) as { url: string };
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => resolve(data));
      socket.write(`PUT ${new URL(url).pathname} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345`);
      // Three times the 1 s body limit (the part watchdog's idle limit is 30 s), then the rest.
      setTimeout(() => {
        socket.write('67890');
        socket.once('data', () => socket.end());
      }, 3000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  }, 60_000);

  it('prompt clients are unaffected', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/recordings`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: 'prompt', mimeType: 'video/webm' }),
    });
    expect(res.status).toBe(201);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
