/**
 * The sweeper settles every abandoned recording for good, keeping what it can:
 * an object a complete had joined but not recorded, and (after the size limit
 * was lowered) the longest run of parts that fits.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecording, download, fullPartSize, uploadPart } from './admin-fixtures.js';
import { fakeClock, testApp, type TestApp } from './helpers.js';

const HOUR = 3_600_000;
const clock = fakeClock();
let t: TestApp;
beforeAll(async () => {
  t = await testApp({ clock, env: { SORTIE_RECORDING_MAX_SIZE_MB: '64' } });
});
afterAll(async () => {
  await t?.close();
});

const row = (id: string) => t.service.recordings.rowById(id);

describe('sweeper recovery', () => {
  it('keeps an object that a complete joined but never recorded as ready', async () => {
    const { id } = await createRecording(t, 'user', 'joined-earlier');
    const bytes = [randomBytes(fullPartSize(t)), randomBytes(777)];
    const parts = [];
    for (const [i, b] of bytes.entries()) parts.push({ partNumber: i + 1, etag: await uploadPart(t, id, i + 1, b) });
    // What a complete leaves when the process dies between joining and its UPDATE.
    const r = (await row(id))!;
    await t.storage.completeUpload({ key: r.storageKey, uploadId: r.uploadId, parts });
    // The finished object exists; S3 consumed the parts, the local backend keeps them until the row says ready.
    expect(await t.storage.stat(r.storageKey)).toEqual({ sizeBytes: bytes[0]!.length + bytes[1]!.length });
    const left = await t.storage.listParts({ key: r.storageKey, uploadId: r.uploadId }).catch(() => []);
    expect(left.length).toBe(t.storage.receiver ? 2 : 0);

    clock.advance(HOUR);
    expect(await t.service.jobs.sweeper.run()).toMatchObject({ finalized: 1, failed: 0 });
    expect((await row(id))!.status).toBe('ready');
    const dl = await download(t, id, t.auth.user);
    expect(Buffer.from(await dl.arrayBuffer()).equals(Buffer.concat(bytes))).toBe(true);
  });

  it('after the limit was lowered, finalizes the longest run of parts that fits instead of retrying forever', async () => {
    const size = fullPartSize(t, 400_000);
    const { id } = await createRecording(t, 'user', 'limit-lowered');
    const bytes = [randomBytes(size), randomBytes(size), randomBytes(size)];
    for (const [i, b] of bytes.entries()) await uploadPart(t, id, i + 1, b);

    // The operator lowers SORTIE_RECORDING_MAX_SIZE_MB: a replica with the new limit on the same database and storage.
    const limitMb = Math.ceil((2 * size + 1) / 1048576);
    const lowered = await testApp({
      clock,
      database: t.database,
      env: { ...t.env, SORTIE_RECORDING_MAX_SIZE_MB: String(limitMb), SORTIE_RECORDING_STORAGE_PATH: t.storagePath },
    });
    try {
      if (3 * size <= limitMb * 1048576) return expect.unreachable('the three parts must be over the lowered limit');
      clock.advance(HOUR);
      expect(await lowered.service.jobs.sweeper.run()).toMatchObject({ finalized: 1, failed: 0 });
      const rec = (await row(id))!;
      expect(rec.status).toBe('ready');
      expect(rec.sizeBytes).toBe(2 * size);
      const dl = await download(lowered, id, lowered.auth.user);
      expect(Buffer.from(await dl.arrayBuffer()).equals(Buffer.concat(bytes.slice(0, 2)))).toBe(true);
      // Settled: a second run has nothing left to do.
      clock.advance(HOUR);
      expect(await lowered.service.jobs.sweeper.run()).toMatchObject({ finalized: 0, failed: 0 });
    } finally {
      await lowered.close({ keepStorage: true });
    }
  });
});
