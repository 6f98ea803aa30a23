/**
 * The auto-record setting: a PUT /api/admin/settings
 * is seen by GET /api/recordings/config at once, by a second service instance
 * on the same database, and after a restart; updatedBy comes from the token
 * and every change is audited.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Database } from '../src/db/client.js';
import { TEST_DB, testApp, testDatabase, type TestApp } from './helpers.js';

const autoRecordOf = async (t: TestApp) => {
  const res = await t.json('GET', '/api/recordings/config', undefined, t.auth.user);
  expect(res.status).toBe(200);
  return ((await res.json()) as { autoRecord: boolean }).autoRecord;
};

const put = (t: TestApp, body: unknown) => t.json('PUT', '/api/admin/settings', body, t.auth.admin);

/**
 * A database that outlives the Database handles opened on it, so that a
 * "restart" closes every connection and opens new ones: a data folder
 * of the embedded server on disk, or a PostgreSQL database reached by URL.
 */
async function durableDatabase(): Promise<{ open(): Promise<Database>; cleanup(): Promise<void> }> {
  if (TEST_DB === 'postgres') {
    const base = await testDatabase('postgres');
    return {
      open: () => openDatabase({ databaseUrl: base.url, dataDir: '' }),
      cleanup: () => base.close(),
    };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'sortie-settings-'));
  return {
    async open() {
      const db = await openDatabase({ databaseUrl: null, dataDir: dir });
      await migrate(db);
      return db;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

describe('admin settings', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('starts with auto-record off and never updated', async () => {
    const res = await t.json('GET', '/api/admin/settings', undefined, t.auth.admin);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ autoRecord: false, updatedAt: null, updatedBy: null, retentionDays: 0 });
    expect(await autoRecordOf(t)).toBe(false);
  });

  it('a PUT answers the new settings with updatedBy from the token, and the config route sees it at once', async () => {
    const res = await put(t, { autoRecord: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { autoRecord: boolean; updatedAt: string; updatedBy: string };
    expect(body).toMatchObject({ autoRecord: true, updatedBy: 'admin-1' });
    expect(Number.isNaN(Date.parse(body.updatedAt))).toBe(false);
    expect(await autoRecordOf(t)).toBe(true);
    expect((await put(t, { autoRecord: false })).status).toBe(200);
    expect(await autoRecordOf(t)).toBe(false);
  });

  it('a bad body is 400 and changes nothing', async () => {
    expect((await put(t, { autoRecord: true })).status).toBe(200);
    for (const body of [{ autoRecord: 'yes' }, {}, { autoRecord: true, signingKey: 'x' }, 'not json']) {
      const res = await put(t, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    expect(await autoRecordOf(t)).toBe(true);
  });

  it('each change is in the audit trail: who, from what, to what', async () => {
    const res = await t.json('GET', '/api/admin/audit?action=settings.update', undefined, t.auth.admin);
    const { items } = (await res.json()) as {
      items: { actorId: string; details: { autoRecord: { from: boolean; to: boolean } } }[];
    };
    // Newest first: true (last PUT above), false, true.
    expect(items.map((i) => i.details.autoRecord)).toEqual([
      { from: false, to: true },
      { from: true, to: false },
      { from: false, to: true },
    ]);
    expect(new Set(items.map((i) => i.actorId))).toEqual(new Set(['admin-1']));
  });
});

describe('settings across instances and restarts', () => {
  it('a second service instance on the same database sees a change at once, both ways', async () => {
    const store = await durableDatabase();
    // Each instance with its own connection(s) where the database allows it (one embedded server per data folder).
    const dbA = await store.open();
    const dbB = TEST_DB === 'postgres' ? await store.open() : dbA;
    const a = await testApp({ database: dbA });
    const b = await testApp({ database: dbB });
    try {
      expect(await autoRecordOf(b)).toBe(false);
      expect((await put(a, { autoRecord: true })).status).toBe(200);
      expect(await autoRecordOf(b)).toBe(true);
      expect((await put(b, { autoRecord: false })).status).toBe(200);
      expect(await autoRecordOf(a)).toBe(false);
    } finally {
      await a.close();
      await b.close();
      await dbA.close();
      if (dbB !== dbA) await dbB.close();
      await store.cleanup();
    }
  });

  it('survives a restart: a new app on the same database, every old connection closed', async () => {
    const store = await durableDatabase();
    try {
      const db1 = await store.open();
      const first = await testApp({ database: db1 });
      expect((await put(first, { autoRecord: true })).status).toBe(200);
      await first.close();
      await db1.close();

      const db2 = await store.open();
      const second = await testApp({ database: db2 });
      try {
        expect(await autoRecordOf(second)).toBe(true);
        const res = await second.json('GET', '/api/admin/settings', undefined, second.auth.admin);
        expect(await res.json()).toMatchObject({ autoRecord: true, updatedBy: 'admin-1' });
      } finally {
        await second.close();
        await db2.close();
      }
    } finally {
      await store.cleanup();
    }
  });
});
