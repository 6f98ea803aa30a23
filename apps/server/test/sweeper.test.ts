/**
 * Abandoned recordings (docs/API.md "Abandoned recordings"): a recording
 * whose client stopped sending parts is finalized by the sweeper and downloads
 * as the bytes that were sent; one with no parts becomes `failed`. Idle time
 * comes from a clock the test moves.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { LOCK_IDS } from '../src/jobs/lock.js';
import { usableParts } from '../src/jobs/sweeper.js';
import {
  createRecording,
  download,
  errorLines,
  fullPartSize,
  makeRecording,
  uploadPart,
  type Made,
} from './admin-fixtures.js';
import { fakeClock, testApp, testDatabase, type TestApp } from './helpers.js';

const MIN = 60_000;

describe('usableParts', () => {
  const p = (partNumber: number, sizeBytes: number) => ({ partNumber, sizeBytes, etag: `"e${partNumber}"` });
  it('takes the longest run 1..n of consecutive parts', () => {
    expect(usableParts([p(1, 10), p(2, 10), p(4, 10)], 0).map((x) => x.partNumber)).toEqual([1, 2]);
    expect(usableParts([p(3, 10), p(1, 10), p(2, 10)], 0).map((x) => x.partNumber)).toEqual([1, 2, 3]);
  });
  it('is empty without part 1', () => {
    expect(usableParts([p(2, 10), p(3, 10)], 0)).toEqual([]);
    expect(usableParts([], 0)).toEqual([]);
  });
  it('stops after the first part under the minimum, which can only be the last (S3)', () => {
    const five = 5 * 1024 * 1024;
    expect(usableParts([p(1, five), p(2, 100), p(3, five)], five).map((x) => x.partNumber)).toEqual([1, 2]);
    expect(usableParts([p(1, 100), p(2, five)], five).map((x) => x.partNumber)).toEqual([1]);
  });
});

describe('sweeper, default 30 minutes', () => {
  const clock = fakeClock();
  const t0 = clock.now().getTime();
  let t: TestApp;
  let full: number;
  let noStop: { id: string; bytes: Buffer; parts: { partNumber: number; etag: string }[] };
  let noParts: { id: string };
  let stopped: { id: string; bytes: Buffer };
  let gap: { id: string; bytes: Buffer };
  let noFirst: { id: string };
  let active: { id: string; bytes: Buffer };
  let ready: Made;
  let failed: Made;

  /** Parts uploaded in the order given; returns their ETags and the bytes of each. */
  async function send(id: string, sizes: [number, number][]) {
    const chunks = new Map<number, Buffer>();
    const parts: { partNumber: number; etag: string }[] = [];
    for (const [n, size] of sizes) {
      const bytes = randomBytes(size);
      chunks.set(n, bytes);
      parts.push({ partNumber: n, etag: await uploadPart(t, id, n, bytes) });
    }
    return { chunks, parts };
  }

  beforeAll(async () => {
    t = await testApp({ clock });
    full = fullPartSize(t);
    ready = await makeRecording(t, 'ready');
    failed = await makeRecording(t, 'failed');

    noStop = { ...(await createRecording(t)), bytes: Buffer.alloc(0), parts: [] };
    const s1 = await send(noStop.id, [
      [1, full],
      [2, full],
      [3, 1000],
    ]);
    noStop.bytes = Buffer.concat([s1.chunks.get(1)!, s1.chunks.get(2)!, s1.chunks.get(3)!]);
    noStop.parts = s1.parts;

    noParts = await createRecording(t);

    const c = await createRecording(t);
    const s2 = await send(c.id, [
      [2, 700],
      [1, full],
    ]);
    expect((await t.json('POST', `/api/recordings/${c.id}/stop`, undefined, t.auth.user)).status).toBe(200);
    stopped = { id: c.id, bytes: Buffer.concat([s2.chunks.get(1)!, s2.chunks.get(2)!]) };

    const g = await createRecording(t);
    const s3 = await send(g.id, [
      [1, full],
      [2, full],
      [4, 500],
    ]);
    gap = { id: g.id, bytes: Buffer.concat([s3.chunks.get(1)!, s3.chunks.get(2)!]) };

    noFirst = await createRecording(t);
    await send(noFirst.id, [[2, 900]]);

    clock.set(new Date(t0 + 20 * MIN));
    const a = await createRecording(t);
    const s4 = await send(a.id, [[1, 1200]]);
    active = { id: a.id, bytes: s4.chunks.get(1)! };

    // 31 minutes after the first group's last activity, 11 after the active one's.
    clock.set(new Date(t0 + 31 * MIN));
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = async (id: string) => {
    const res = await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user);
    expect(res.status).toBe(200);
    return (await res.json()) as {
      status: string;
      sizeBytes: number;
      durationMs: number | null;
      failureReason: string | null;
    };
  };
  const bytesOf = async (id: string) => {
    const res = await download(t, id, t.auth.user);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  it('finalizes the recordings idle past the limit and fails those with no usable part', async () => {
    expect(await t.service.jobs.sweeper.run()).toEqual({ finalized: 3, failed: 2, skipped: false });
    expect(errorLines(t)).toEqual([]);
  });

  it('a recording whose client vanished mid-recording downloads as exactly the bytes that were sent', async () => {
    expect(await get(noStop.id)).toMatchObject({
      status: 'ready',
      sizeBytes: noStop.bytes.length,
      durationMs: null,
      failureReason: null,
    });
    expect((await bytesOf(noStop.id)).equals(noStop.bytes)).toBe(true);
  });

  it('a stopped recording whose client never completed is finalized too, parts joined in order', async () => {
    expect(await get(stopped.id)).toMatchObject({ status: 'ready', sizeBytes: stopped.bytes.length });
    expect((await bytesOf(stopped.id)).equals(stopped.bytes)).toBe(true);
  });

  it('after a gap in the part numbers, the parts before it are kept and the dropped ones logged', async () => {
    expect((await bytesOf(gap.id)).equals(gap.bytes)).toBe(true);
    // The sweeper's own line (random bytes also draw the repair's warning that they are not WebM).
    const warn = t.logger.lines.find(
      (l) =>
        l.recordingId === gap.id && l.level === 'warn' && l.msg === 'abandoned recording finalized without some parts',
    );
    expect(warn).toMatchObject({ droppedParts: [4] });
  });

  it('a recording with no parts, or none from part 1, becomes failed with a reason', async () => {
    const a = await get(noParts.id);
    expect(a).toMatchObject({ status: 'failed', sizeBytes: 0 });
    expect(a.failureReason).toMatch(/no part was uploaded/);
    const b = await get(noFirst.id);
    expect(b.status).toBe('failed');
    expect(b.failureReason).toMatch(/do not start at part 1/);
  });

  it('leaves alone a recording active within the limit, and ready or failed ones', async () => {
    expect((await get(active.id)).status).toBe('recording');
    expect((await t.service.recordings.rowById(ready.id))?.status).toBe('ready');
    expect((await t.service.recordings.rowById(failed.id))?.status).toBe('failed');
    expect((await bytesOf(ready.id)).equals(ready.bytes)).toBe(true);
  });

  it('a client that comes back and completes gets the ready recording (complete is idempotent)', async () => {
    const res = await t.json(
      'POST',
      `/api/recordings/${noStop.id}/complete`,
      { durationMs: 5000, parts: noStop.parts },
      t.auth.user,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: noStop.id, status: 'ready' });
  });

  it('each verdict is in the audit trail under the sweeper', async () => {
    const res = await t.json('GET', '/api/admin/audit?limit=200', undefined, t.auth.admin);
    const { items } = (await res.json()) as { items: { action: string; recordingId: string; actorName: string }[] };
    const mine = items.filter((i) => i.actorName === 'sweeper');
    expect(
      mine
        .filter((i) => i.action === 'sweeper.finalize')
        .map((i) => i.recordingId)
        .sort(),
    ).toEqual([noStop.id, stopped.id, gap.id].sort());
    expect(
      mine
        .filter((i) => i.action === 'sweeper.fail')
        .map((i) => i.recordingId)
        .sort(),
    ).toEqual([noParts.id, noFirst.id].sort());
  });

  it('once idle past the limit, the last active one is finalized too; a second sweep finds nothing', async () => {
    expect(await t.service.jobs.sweeper.run()).toEqual({ finalized: 0, failed: 0, skipped: false });
    clock.set(new Date(t0 + 51 * MIN));
    expect(await t.service.jobs.sweeper.run()).toEqual({ finalized: 1, failed: 0, skipped: false });
    expect((await bytesOf(active.id)).equals(active.bytes)).toBe(true);
  });
});

describe('SORTIE_RECORDING_ABANDONED_AFTER_MINUTES', () => {
  it('sets the idle time after which the sweeper acts', async () => {
    const clock = fakeClock();
    const t = await testApp({ clock, env: { SORTIE_RECORDING_ABANDONED_AFTER_MINUTES: '5' } });
    try {
      const r = await makeRecording(t, 'recording');
      clock.advance(5 * MIN);
      // Exactly the limit is not yet "older than".
      expect(await t.service.jobs.sweeper.run()).toEqual({ finalized: 0, failed: 0, skipped: false });
      clock.advance(1);
      expect(await t.service.jobs.sweeper.run()).toEqual({ finalized: 1, failed: 0, skipped: false });
      const res = await download(t, r.id, t.auth.user);
      expect(Buffer.from(await res.arrayBuffer()).equals(r.bytes)).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe('sweeper on several replicas', () => {
  it('while another session holds the sweeper lock, a sweep does nothing and logs no error', async () => {
    const database = await testDatabase('postgres');
    const clock = fakeClock();
    const t = await testApp({ clock, database });
    const holder = postgres(database.url!, { max: 1, onnotice: () => {} });
    try {
      const r = await makeRecording(t, 'recording');
      clock.advance(31 * MIN);
      const reserved = await holder.reserve();
      await reserved`select pg_advisory_lock(${LOCK_IDS.sweeper.toString()}::bigint)`;
      expect(await t.service.jobs.sweeper.run()).toEqual({ finalized: 0, failed: 0, skipped: true });
      expect((await t.service.recordings.rowById(r.id))?.status).toBe('recording');
      await reserved`select pg_advisory_unlock(${LOCK_IDS.sweeper.toString()}::bigint)`;
      reserved.release();
      expect(await t.service.jobs.sweeper.run()).toEqual({ finalized: 1, failed: 0, skipped: false });
      expect(errorLines(t)).toEqual([]);
    } finally {
      await holder.end();
      await t.close();
      await database.close();
    }
  });
});
