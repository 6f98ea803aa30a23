/**
 * Tail objects (docs/bounded-loss.md "S3 backend"): on S3 the SDK
 * keeps what is not yet a 5 MiB part in small objects it POSTs itself; the
 * service hands out their URLs, folds them into the last part when a recording
 * is finalized without its client (beacon, abandoned), and deletes them after
 * any finalize and with the recording. Run on the S3 backend by the
 * postgres-s3 project; on the local backend (parts of any size) the route
 * does not exist. Their bounds (caps, quotas, orphans): tails-bounds.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TailTargets } from '@sortie/contract';
import { tailsAfter, TAIL_NEXT_PARTS, TAIL_URLS_FOR_PART, TAIL_URLS_PER_NEXT_PART } from '../src/recordings/tails.js';
import { fakeClock, postTail, testApp, TEST_STORAGE, type TestApp } from './helpers.js';

const MIN = 60_000;
const clock = fakeClock();
let t: TestApp;
beforeAll(async () => {
  t = await testApp({ clock });
});
afterAll(async () => {
  t?.service.jobs.sweeper.stopPending();
  await t?.close();
});

interface Rec {
  id: string;
  status: string;
  sizeBytes: number;
  endedBy: string | null;
  endUrl: string;
}

async function create(): Promise<Rec> {
  const r = await t.json('POST', '/api/recordings', { sessionId: 'tails', mimeType: 'video/webm' }, t.auth.user);
  expect(r.status).toBe(201);
  return (await r.json()) as Rec;
}

async function get(id: string): Promise<Rec> {
  return (await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as Rec;
}

describe('tailsAfter: which tails continue the stored parts', () => {
  const MiB = 1024 * 1024;
  const part = (partNumber: number, sizeBytes: number) => ({ partNumber, sizeBytes, etag: `"e${partNumber}"` });
  const tail = (partNumber: number, seq: number, sizeBytes = 10) => ({ partNumber, seq, sizeBytes });
  it('takes the next part’s tails from 0 up to the first gap, ignoring superseded ones', () => {
    const tails = [tail(1, 0), tail(2, 1), tail(2, 0), tail(2, 3), tail(3, 0)];
    expect(tailsAfter([part(1, 5 * MiB)], tails, 5 * MiB, Infinity)).toEqual([tail(2, 0), tail(2, 1)]);
    expect(tailsAfter([], tails, 5 * MiB, Infinity)).toEqual([tail(1, 0)]);
  });
  it('takes none after a short last part (the client’s own end) and stops at the size limit', () => {
    expect(tailsAfter([part(1, 100)], [tail(2, 0)], 5 * MiB, Infinity)).toEqual([]);
    expect(tailsAfter([], [tail(1, 0, 10), tail(1, 1, 10), tail(1, 2, 10)], 5 * MiB, 25)).toEqual([
      tail(1, 0),
      tail(1, 1),
    ]);
  });
});

if (TEST_STORAGE === 'local') {
  describe('tails on the local backend', () => {
    it('are not offered: parts there may be any size (404)', async () => {
      const rec = await create();
      const r = await t.json('POST', `/api/recordings/${rec.id}/tails`, { partNumber: 1, firstSeq: 0 }, t.auth.user);
      expect(r.status).toBe(404);
    });
  });
} else {
  const tailsOf = (id: string) => t.storage.tails!.listTails(id);

  async function tailUrls(id: string, partNumber: number, firstSeq = 0): Promise<TailTargets> {
    const r = await t.json('POST', `/api/recordings/${id}/tails`, { partNumber, firstSeq }, t.auth.user);
    expect(r.status).toBe(200);
    return (await r.json()) as TailTargets;
  }

  /** POSTs each tail to its presigned target, as the SDK does. */
  async function putTails(id: string, tails: { partNumber: number; seq: number; bytes: Buffer }[]) {
    const byPart = new Map<number, TailTargets>();
    for (const tl of tails) {
      const batch = byPart.get(tl.partNumber) ?? (await tailUrls(id, tl.partNumber));
      byPart.set(tl.partNumber, batch);
      const target = batch.urls.find((u) => u.partNumber === tl.partNumber && u.seq === tl.seq)!;
      const res = await postTail(target, tl.bytes);
      expect(res.status).toBe(204);
    }
  }

  async function sendPart(id: string, partNumber: number, bytes: Buffer): Promise<string> {
    const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes: bytes.length }, t.auth.user);
    expect(r.status).toBe(200);
    const { url } = (await r.json()) as { url: string };
    const put = await fetch(url, { method: 'PUT', body: bytes });
    expect(put.status).toBe(200);
    return put.headers.get('etag')!;
  }

  async function downloaded(id: string): Promise<Buffer> {
    const dl = await t.json('GET', `/api/recordings/${id}/download`, undefined, t.auth.user);
    expect(dl.status).toBe(302);
    return Buffer.from(await (await fetch(dl.headers.get('location')!)).arrayBuffer());
  }

  /** Ends by beacon and runs the sweeper once the quiet time has passed (the clock is the test's). */
  async function endByBeacon(rec: Rec): Promise<Rec> {
    const r = await t.send(new URL(rec.endUrl).pathname, { method: 'POST', body: 'end' });
    expect(r.status).toBe(202);
    clock.advance(5_000);
    await t.service.jobs.sweeper.run();
    return get(rec.id);
  }

  describe('POST /api/recordings/:id/tails (S3)', () => {
    it('hands out presigned POSTs for the part asked about and the first tails of the next part', async () => {
      const rec = await create();
      const batch = await tailUrls(rec.id, 2, 5);
      expect(batch.method).toBe('POST');
      expect(Date.parse(batch.expiresAt)).toBeGreaterThan(clock.now().getTime());
      const forPart = (n: number) => batch.urls.filter((u) => u.partNumber === n).map((u) => u.seq);
      expect(forPart(2)).toEqual(Array.from({ length: TAIL_URLS_FOR_PART }, (_, i) => 5 + i));
      for (let n = 3; n <= 2 + TAIL_NEXT_PARTS; n++)
        expect(forPart(n)).toEqual(Array.from({ length: TAIL_URLS_PER_NEXT_PART }, (_, i) => i));
      expect(forPart(1)).toEqual([]);
      expect(batch.urls[0]!.fields.key).toMatch(new RegExp(`tails/${rec.id}/2-5$`));
    });

    it('validates its input with a clear 400', async () => {
      const rec = await create();
      for (const body of [{ partNumber: 0, firstSeq: 0 }, { partNumber: 1, firstSeq: -1 }, { partNumber: 1 }, {}]) {
        const r = await t.json('POST', `/api/recordings/${rec.id}/tails`, body, t.auth.user);
        expect(r.status).toBe(400);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
      }
      const bad = await t.json('POST', '/api/recordings/not-a-uuid/tails', { partNumber: 1, firstSeq: 0 }, t.auth.user);
      expect(bad.status).toBe(400);
    });

    it('is the owner’s only (404 to another user, 401 without a token) and only while the recording is open (409)', async () => {
      const rec = await create();
      const body = { partNumber: 1, firstSeq: 0 };
      expect((await t.json('POST', `/api/recordings/${rec.id}/tails`, body, t.auth.other)).status).toBe(404);
      expect((await t.json('POST', `/api/recordings/${rec.id}/tails`, body)).status).toBe(401);
      const failed = await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: 'test' }, t.auth.user);
      expect(failed.status).toBe(200);
      expect((await t.json('POST', `/api/recordings/${rec.id}/tails`, body, t.auth.user)).status).toBe(409);
    });

    it('counts as activity: a quiet recording sending tails is not abandoned', async () => {
      const rec = await create();
      clock.advance(25 * MIN);
      await tailUrls(rec.id, 1);
      clock.advance(25 * MIN);
      await t.service.jobs.sweeper.run();
      expect((await get(rec.id)).status).toBe('recording');
      await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: 'test over' }, t.auth.user);
    });
  });

  describe('folding tails when a recording is finalized without its client (S3)', () => {
    it('a beacon-ended recording with no full part is its tails, in order; the tails are then deleted', async () => {
      const rec = await create();
      const tails = [0, 1, 2].map((seq) => ({ partNumber: 1, seq, bytes: randomBytes(1000 + seq) }));
      await putTails(rec.id, tails);
      expect(await tailsOf(rec.id)).toHaveLength(3);
      const ended = await endByBeacon(rec);
      expect(ended).toMatchObject({ status: 'ready', endedBy: 'beacon', sizeBytes: 3003 });
      expect((await downloaded(rec.id)).equals(Buffer.concat(tails.map((x) => x.bytes)))).toBe(true);
      expect(await tailsOf(rec.id)).toEqual([]);
    });

    it('after a full part, only that part’s successors up to a gap are folded; superseded tails are not', async () => {
      const rec = await create();
      const first = randomBytes(t.storage.minPartSizeBytes);
      await sendPart(rec.id, 1, first);
      const tails = [
        { partNumber: 1, seq: 0, bytes: randomBytes(500) }, // superseded by part 1
        { partNumber: 2, seq: 0, bytes: randomBytes(700) },
        { partNumber: 2, seq: 1, bytes: randomBytes(800) },
        { partNumber: 2, seq: 3, bytes: randomBytes(900) }, // after a gap: 2-2 never landed
      ];
      await putTails(rec.id, tails);
      const ended = await endByBeacon(rec);
      expect(ended).toMatchObject({ status: 'ready', sizeBytes: first.length + 1500 });
      expect((await downloaded(rec.id)).equals(Buffer.concat([first, tails[1]!.bytes, tails[2]!.bytes]))).toBe(true);
      expect(await tailsOf(rec.id)).toEqual([]);
    });

    it('an abandoned recording (the sweeper, after the window) keeps its tails too', async () => {
      const rec = await create();
      const tails = [0, 1].map((seq) => ({ partNumber: 1, seq, bytes: randomBytes(2000) }));
      await putTails(rec.id, tails);
      clock.advance(31 * MIN);
      await t.service.jobs.sweeper.run();
      expect(await get(rec.id)).toMatchObject({ status: 'ready', endedBy: 'abandoned', sizeBytes: 4000 });
      expect((await downloaded(rec.id)).equals(Buffer.concat(tails.map((x) => x.bytes)))).toBe(true);
      expect(await tailsOf(rec.id)).toEqual([]);
    });

    it('a normal stop joins the parts alone and deletes the tails', async () => {
      const rec = await create();
      const bytes = randomBytes(3000);
      await putTails(rec.id, [{ partNumber: 1, seq: 0, bytes: randomBytes(1000) }]);
      const etag = await sendPart(rec.id, 1, bytes);
      const done = await t.json(
        'POST',
        `/api/recordings/${rec.id}/complete`,
        { durationMs: 1000, parts: [{ partNumber: 1, etag }] },
        t.auth.user,
      );
      expect(done.status).toBe(200);
      expect((await downloaded(rec.id)).equals(bytes)).toBe(true);
      expect(await tailsOf(rec.id)).toEqual([]);
    });

    it('a stop at the size limit whose last part was refused keeps that part’s tails, folded in after its parts', async () => {
      const rec = await create();
      const first = randomBytes(t.storage.minPartSizeBytes);
      const etag = await sendPart(rec.id, 1, first);
      const tails = [0, 1].map((seq) => ({ partNumber: 2, seq, bytes: randomBytes(1500 + seq) }));
      await putTails(rec.id, tails);
      // Part 2 was refused (413) and the SDK completes with the parts stored, as it does at the limit.
      const listParts = t.storage.listParts;
      let listings = 0;
      t.storage.listParts = (args) => {
        listings++;
        return listParts.call(t.storage, args);
      };
      const done = await t
        .json(
          'POST',
          `/api/recordings/${rec.id}/complete`,
          { durationMs: 1000, parts: [{ partNumber: 1, etag }], endedBy: 'size_limit' },
          t.auth.user,
        )
        .finally(() => (t.storage.listParts = listParts));
      expect(done.status).toBe(200);
      // The listing that found the run to fold after is the one the parts are checked against.
      expect(listings).toBe(1);
      expect(await done.json()).toMatchObject({
        status: 'ready',
        endedBy: 'size_limit',
        sizeBytes: first.length + 3001,
      });
      expect((await downloaded(rec.id)).equals(Buffer.concat([first, ...tails.map((x) => x.bytes)]))).toBe(true);
      expect(await tailsOf(rec.id)).toEqual([]);
    });

    it('deleting an open recording, or failing it, removes its tails', async () => {
      for (const end of ['delete', 'fail'] as const) {
        const rec = await create();
        await putTails(rec.id, [{ partNumber: 1, seq: 0, bytes: randomBytes(100) }]);
        const r =
          end === 'delete'
            ? await t.json('DELETE', `/api/recordings/${rec.id}`, undefined, t.auth.user)
            : await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: 'test' }, t.auth.user);
        expect(r.status).toBeLessThan(300);
        expect(await tailsOf(rec.id)).toEqual([]);
      }
    });
  });
}
