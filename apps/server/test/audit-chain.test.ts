/**
 * The audit trail's hash chain (audit/chain.ts): every writer (a request, a job, concurrent requests on two
 * replicas) appends to one chain; GET /api/admin/audit/verify walks it and names the first entry an edit or a
 * removal broke; GET /api/admin/audit/export gives a range as JSON Lines that the offline verifier
 * (@sortie/verify, written apart from the service) checks.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditVerification, ChainedAuditEntry } from '@sortie/contract';
import { verifyAuditExport } from '@sortie/verify';
import { auditLog } from '../src/db/schema.js';
import { testApp, type TestApp } from './helpers.js';

let t: TestApp;
let replica: TestApp;
beforeAll(async () => {
  t = await testApp();
  replica = await testApp({ database: t.database });
});
afterAll(async () => {
  await replica?.close({ keepStorage: true });
  await t?.close();
});

const verify = async (): Promise<AuditVerification> => {
  const r = await t.app.request('/api/admin/audit/verify', { headers: t.auth.admin });
  expect(r.status).toBe(200);
  return (await r.json()) as AuditVerification;
};

async function exported(query = ''): Promise<string[]> {
  const r = await t.app.request(`/api/admin/audit/export${query}`, { headers: t.auth.admin });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  return (await r.text()).split('\n').filter((l) => l !== '');
}

async function* linesOf(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

describe('the audit chain', () => {
  it('holds one unbroken chain whoever writes, at once, on two replicas', async () => {
    const actor = { id: 'admin-1', name: 'Admin' };
    const writes = Array.from({ length: 40 }, (_, i) => {
      const audit = (i % 2 ? replica : t).service.audit;
      return i % 4 < 2
        ? audit.record({ actor, action: 'settings.update', details: { autoRecord: i % 3 === 0, n: i } })
        : audit.recordCoalesced({
            actor,
            action: 'recording.download',
            recordingId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            details: { userId: 'u-1', 'unicode ✓': 'é\u2028' },
          });
    });
    await Promise.all(writes);
    // Through a route too: an admin's settings change is audited.
    expect((await t.json('PUT', '/api/admin/settings', { autoRecord: true }, t.auth.admin)).status).toBe(200);
    const v = await verify();
    expect(v).toEqual({ ok: true, entries: 41, unchained: 0 });
    const seqs = (await t.database.db.select({ seq: auditLog.seq }).from(auditLog))
      .map((r) => r.seq)
      .sort((a, b) => a! - b!);
    expect(seqs).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));

    const lines = await exported();
    expect(lines).toHaveLength(41);
    const check = await verifyAuditExport(linesOf(lines));
    expect(check.lines.join('\n')).toMatch(/starts at the chain's first entry/);
    expect(check.ok).toBe(true);
  });

  it('exports a time range that the offline verifier checks, and finds a changed line', async () => {
    const all = (await exported()).map((l) => JSON.parse(l) as ChainedAuditEntry);
    const middle = all[20]!;
    const ranged = await exported(`?from=${encodeURIComponent(middle.at)}`);
    // Exactly the entries written at or after that instant (ISO strings of one length compare as instants).
    const seqs = (lines: string[]) => lines.map((l) => (JSON.parse(l) as ChainedAuditEntry).seq);
    expect(seqs(ranged)).toEqual(all.filter((e) => e.at >= middle.at).map((e) => e.seq));
    expect(ranged.length).toBeLessThan(all.length);
    expect((await verifyAuditExport(linesOf(ranged))).ok).toBe(true);
    const edited = ranged.map((l, i) => (i === 1 ? l.replace('"admin-1"', '"someone-else"') : l));
    const verdict = await verifyAuditExport(linesOf(edited));
    expect(verdict.ok).toBe(false);
    expect(verdict.lines.at(-1)).toMatch(/its content is not what its hash was made of/);
    const dropped = ranged.filter((_, i) => i !== 1);
    expect((await verifyAuditExport(linesOf(dropped))).lines.at(-1)).toMatch(/is missing/);
  });

  it('names the first entry an edit in the database broke, then the first a removal broke', async () => {
    const [victim] = await t.database.db.select().from(auditLog).where(eq(auditLog.seq, 7));
    await t.database.db
      .update(auditLog)
      .set({ details: { ...victim!.details, n: 999 } })
      .where(eq(auditLog.id, victim!.id));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadId: victim!.id,
      entries: 6,
      problem: 'its content is not what its hash was made of',
    });
    await t.database.db.update(auditLog).set({ details: victim!.details }).where(eq(auditLog.id, victim!.id));
    expect((await verify()).ok).toBe(true);

    await t.database.db.execute(sql`delete from ${auditLog} where seq = 12`);
    const [next] = await t.database.db.select().from(auditLog).where(eq(auditLog.seq, 13));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadId: next!.id,
      entries: 11,
      problem: 'entry 12 is missing',
    });
  });
});
