/**
 * The retention job: over recordings of every state
 * and of ages on both sides of the limit, exactly the `ready` ones older than
 * SORTIE_RECORDING_RETENTION_DAYS are gone, from the database and from
 * storage; with retention 0 nothing is. Ages come from a clock the test moves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, errorLines, makeRecording, type Made } from './admin-fixtures.js';
import { fakeClock, testApp, type TestApp } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

const run = async (t: TestApp) => {
  const res = await t.json('POST', '/api/admin/retention/run', undefined, t.auth.admin);
  expect(res.status).toBe(200);
  return (await res.json()) as { deleted: number };
};

describe('retention 30 days', () => {
  // The clock starts at the real time (part URLs' expiry is checked against it) and only moves forward.
  const clock = fakeClock();
  const t0 = clock.now().getTime();
  let t: TestApp;
  const rec: Record<string, Made> = {};

  beforeAll(async () => {
    t = await testApp({ clock, env: { SORTIE_RECORDING_RETENTION_DAYS: '30' } });
    // The run happens at R = t0 + 31 d + 1 h; the limit is then R − 30 d = t0 + 1 d + 1 h.
    rec.readyOld = await makeRecording(t, 'ready');
    rec.recordingOld = await makeRecording(t, 'recording');
    rec.uploadingOld = await makeRecording(t, 'uploading');
    rec.failedOld = await makeRecording(t, 'failed');
    clock.set(new Date(t0 + DAY));
    rec.readyOldOther = await makeRecording(t, 'ready', { who: 'other' });
    clock.set(new Date(t0 + DAY + HOUR - 1));
    rec.readyJustOlder = await makeRecording(t, 'ready');
    clock.set(new Date(t0 + DAY + HOUR));
    rec.readyAtLimit = await makeRecording(t, 'ready');
    clock.set(new Date(t0 + 20 * DAY));
    rec.readyYoung = await makeRecording(t, 'ready', { who: 'other' });
    rec.recordingYoung = await makeRecording(t, 'recording');
    rec.failedYoung = await makeRecording(t, 'failed');
    clock.set(new Date(t0 + 31 * DAY + HOUR));
  });
  afterAll(async () => {
    await t?.close();
  });

  const gone = ['readyOld', 'readyOldOther', 'readyJustOlder'];

  it('deletes exactly the ready recordings older than the limit, rows and stored files', async () => {
    expect(await run(t)).toEqual({ deleted: 3 });
    for (const [name, r] of Object.entries(rec)) {
      const row = await t.service.recordings.rowById(r.id);
      if (gone.includes(name)) {
        expect(row, name).toBeNull();
        expect(await t.storage.stat(r.storageKey), name).toBeNull();
      } else {
        expect(row?.status, name).toBe(r.status);
      }
    }
  });

  it('leaves the kept recordings whole: ready ones download as uploaded, unfinished ones keep their parts', async () => {
    for (const name of ['readyAtLimit', 'readyYoung']) {
      const r = rec[name]!;
      const res = await download(t, r.id, t.auth.admin);
      expect(res.status, name).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(r.bytes), name).toBe(true);
    }
    for (const name of ['recordingOld', 'uploadingOld', 'recordingYoung']) {
      const r = rec[name]!;
      const row = (await t.service.recordings.rowById(r.id))!;
      const parts = await t.storage.listParts({ key: row.storageKey, uploadId: row.uploadId });
      expect(
        parts.map((p) => p.sizeBytes),
        name,
      ).toEqual([3000]);
    }
  });

  it('logs how many it deleted, audits each deletion, and logs no error', async () => {
    const lines = t.logger.lines.filter((l) => l.msg === 'retention run');
    expect(lines.at(-1)).toMatchObject({ level: 'info', deleted: 3, retentionDays: 30 });
    const res = await t.json('GET', '/api/admin/audit?action=retention.delete', undefined, t.auth.admin);
    const { items } = (await res.json()) as {
      items: { recordingId: string; actorId: string | null; actorName: string }[];
    };
    expect(items.map((i) => i.recordingId).sort()).toEqual(gone.map((n) => rec[n]!.id).sort());
    expect(items.every((i) => i.actorId === null && i.actorName === 'retention job')).toBe(true);
    expect(errorLines(t)).toEqual([]);
  });

  it('a second run deletes nothing more', async () => {
    expect(await run(t)).toEqual({ deleted: 0 });
  });

  it('one millisecond later the recording at the limit is past it and goes too', async () => {
    clock.advance(1);
    expect(await run(t)).toEqual({ deleted: 1 });
    expect(await t.service.recordings.rowById(rec.readyAtLimit!.id)).toBeNull();
    expect(await t.storage.stat(rec.readyAtLimit!.storageKey)).toBeNull();
    expect(await t.service.recordings.rowById(rec.readyYoung!.id)).not.toBeNull();
  });

  it('never touches other states, however old', async () => {
    clock.advance(1000 * DAY);
    expect(await run(t)).toEqual({ deleted: 1 }); // readyYoung only
    for (const name of ['recordingOld', 'uploadingOld', 'failedOld', 'recordingYoung', 'failedYoung']) {
      expect((await t.service.recordings.rowById(rec[name]!.id))?.status, name).toBe(rec[name]!.status);
    }
  });
});

describe('retention 0 (the default)', () => {
  it('keeps every recording forever, also when run by hand', async () => {
    const clock = fakeClock();
    const t = await testApp({ clock });
    try {
      expect(t.config.retentionDays).toBe(0);
      const old = await makeRecording(t, 'ready');
      clock.advance(10_000 * DAY);
      expect(await run(t)).toEqual({ deleted: 0 });
      expect((await t.service.recordings.rowById(old.id))?.status).toBe('ready');
      expect(await t.storage.stat(old.storageKey)).toEqual({ sizeBytes: old.bytes.length });
      expect(t.service.jobs.retention.enabled).toBe(false);
    } finally {
      await t.close();
    }
  });
});
