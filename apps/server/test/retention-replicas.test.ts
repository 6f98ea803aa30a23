/**
 * Several replicas on one PostgreSQL database: two
 * service instances, each with its own connection pool, sharing the database
 * and the storage, run retention at the same moment. Each old recording is
 * deleted exactly once and neither logs an error. Always on real PostgreSQL
 * (advisory locks between processes are what is being shown), in every project.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { openDatabase, type Database } from '../src/db/client.js';
import { LOCK_IDS } from '../src/jobs/lock.js';
import { errorLines, makeRecording, type Made } from './admin-fixtures.js';
import { fakeClock, testApp, testDatabase, type TestApp } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
/** More than one batch of the job (50), so that runs interleave batch by batch. */
const OLD_READY = 60;

let base: Database & { url: string | null };
let dbB: Database;
let a: TestApp;
let b: TestApp;
const clock = fakeClock();
const old: Made[] = [];
const kept: Made[] = [];

beforeAll(async () => {
  base = await testDatabase('postgres');
  // Replica B has a pool of its own on the same database, as another process would.
  dbB = await openDatabase({ databaseUrl: base.url, dataDir: '' });
  const env = { SORTIE_RECORDING_RETENTION_DAYS: '7' };
  a = await testApp({ database: base, clock, env });
  // The same storage as A: its folder (local) or its bucket prefix (s3).
  b = await testApp({
    database: dbB,
    clock,
    env: { ...env, SORTIE_RECORDING_STORAGE_PATH: a.storagePath, SORTIE_RECORDING_S3_PREFIX: a.config.s3.prefix },
  });
  for (let i = 0; i < OLD_READY; i++)
    old.push(await makeRecording(i % 2 ? a : b, 'ready', { who: i % 3 ? 'user' : 'other', sessionId: `old-${i}` }));
  kept.push(await makeRecording(a, 'recording'), await makeRecording(a, 'uploading'), await makeRecording(b, 'failed'));
  clock.advance(5 * DAY);
  kept.push(await makeRecording(a, 'ready'), await makeRecording(b, 'ready'));
  clock.advance(3 * DAY);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await dbB?.close();
  await base?.close();
});

const runOn = async (t: TestApp) => {
  const res = await t.json('POST', '/api/admin/retention/run', undefined, t.auth.admin);
  expect(res.status).toBe(200);
  return (await res.json()) as { deleted: number; skipped?: boolean };
};

describe('retention on two replicas', () => {
  it('while another session holds the retention lock, a run does nothing and logs no error', async () => {
    const holder = postgres(base.url!, { max: 1, onnotice: () => {} });
    try {
      const reserved = await holder.reserve();
      await reserved`select pg_advisory_lock(${LOCK_IDS.retention.toString()}::bigint)`;
      expect(await runOn(a)).toEqual({ deleted: 0, skipped: true });
      expect(a.logger.lines.filter((l) => l.msg === 'retention run').at(-1)).toMatchObject({
        level: 'info',
        deleted: 0,
        skipped: true,
      });
      for (const r of old) expect(await a.service.recordings.rowById(r.id)).not.toBeNull();
      await reserved`select pg_advisory_unlock(${LOCK_IDS.retention.toString()}::bigint)`;
      reserved.release();
    } finally {
      await holder.end();
    }
    expect(errorLines(a)).toEqual([]);
  });

  it('both run at the same moment: every old recording deleted exactly once, the rest kept, no error logged', async () => {
    const [ra, rb] = await Promise.all([runOn(a), runOn(b)]);
    expect(ra.deleted + rb.deleted).toBe(OLD_READY);

    const audit = await a.json('GET', '/api/admin/audit?action=retention.delete&limit=200', undefined, a.auth.admin);
    const ids = ((await audit.json()) as { items: { recordingId: string }[] }).items.map((i) => i.recordingId);
    expect(ids.length).toBe(OLD_READY);
    expect(new Set(ids)).toEqual(new Set(old.map((r) => r.id)));

    for (const r of old) {
      expect(await a.service.recordings.rowById(r.id)).toBeNull();
      expect(await a.storage.stat(r.storageKey)).toBeNull();
    }
    for (const r of kept) expect((await b.service.recordings.rowById(r.id))?.status).toBe(r.status);
    expect(errorLines(a)).toEqual([]);
    expect(errorLines(b)).toEqual([]);
    // Each replica logged its run with the count it deleted.
    const last = (t: TestApp) => t.logger.lines.filter((l) => l.msg === 'retention run').at(-1);
    expect([last(a)?.deleted, last(b)?.deleted]).toEqual([ra.deleted, rb.deleted]);
  });

  it('runs again at the same moment find nothing left to delete', async () => {
    const results = await Promise.all([runOn(a), runOn(b), runOn(a), runOn(b)]);
    expect(results.reduce((n, r) => n + r.deleted, 0)).toBe(0);
    expect(errorLines(a)).toEqual([]);
    expect(errorLines(b)).toEqual([]);
  });
});
