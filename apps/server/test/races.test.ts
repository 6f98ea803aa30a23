/**
 * Requests that race on one recording. Every state change is conditional on
 * the state it starts from, and reservations take the recording's row lock,
 * so whichever request wins, the database and storage agree and no limit is
 * passed. (On PGlite requests are serialized anyway; the postgres project is
 * where they truly overlap.)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp({ env: { SORTIE_RECORDING_MAX_SIZE_MB: '1' } });
});
afterAll(async () => {
  await t?.close();
});

async function create(): Promise<string> {
  const r = await t.json('POST', '/api/recordings', { sessionId: 'races', mimeType: 'video/webm' }, t.auth.user);
  return ((await r.json()) as { id: string }).id;
}

async function sendPart(id: string, n: number, bytes: Uint8Array): Promise<string> {
  const r = await t.json(
    'POST',
    `/api/recordings/${id}/parts`,
    { partNumber: n, sizeBytes: bytes.length },
    t.auth.user,
  );
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  const put = await t.send(url, { method: 'PUT', headers, body: bytes });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

describe('racing requests', () => {
  it('parallel /parts requests cannot reserve more than the limit together', async () => {
    const id = await create();
    const statuses = await Promise.all(
      [1, 2, 3, 4].map(
        async (n) =>
          (await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: n, sizeBytes: 600_000 }, t.auth.user))
            .status,
      ),
    );
    // 1 MiB holds one part of 600 000 bytes, not two.
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 413)).toHaveLength(3);
  });

  it('complete and fail at the same moment: one wins, and storage agrees with the row', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await create();
      const bytes = randomBytes(50_000);
      const etag = await sendPart(id, 1, bytes);
      const [completed, failed] = await Promise.all([
        t.json(
          'POST',
          `/api/recordings/${id}/complete`,
          { durationMs: 10, parts: [{ partNumber: 1, etag }] },
          t.auth.user,
        ),
        t.json('POST', `/api/recordings/${id}/fail`, { reason: 'racing' }, t.auth.user),
      ]);
      const row = (await t.service.recordings.rowById(id))!;
      const object = path.join(t.storagePath, `${id}.webm`);
      if (row.status === 'ready') {
        expect(completed.status).toBe(200);
        expect(failed.status).toBe(409);
        const dl = await t.app.request(`/api/recordings/${id}/download`, { headers: t.auth.user });
        expect(Buffer.from(await dl.arrayBuffer()).equals(bytes)).toBe(true);
      } else {
        expect(row.status).toBe('failed');
        expect(failed.status).toBe(200);
        expect(completed.status).toBe(409);
        expect(existsSync(object)).toBe(false);
        expect(existsSync(`${object}.d`)).toBe(false);
      }
      expect(existsSync(path.join(t.storagePath, '.parts', `${id}.webm`))).toBe(false);
    }
  });

  it('a part that arrives after complete is refused (409) and leaves nothing behind', async () => {
    const id = await create();
    const etag = await sendPart(id, 1, randomBytes(1000));
    const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: 2, sizeBytes: 1000 }, t.auth.user);
    const { url } = (await r.json()) as { url: string };
    const done = await t.json(
      'POST',
      `/api/recordings/${id}/complete`,
      { durationMs: 1, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    expect(done.status).toBe(200);
    const late = await t.app.request(url, { method: 'PUT', body: randomBytes(1000) });
    expect(late.status).toBe(409);
    expect(
      ((await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as { sizeBytes: number })
        .sizeBytes,
    ).toBe(1000);
    expect(existsSync(path.join(t.storagePath, '.parts', `${id}.webm`))).toBe(false);
  });
});
