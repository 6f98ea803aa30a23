/**
 * The bounds of tail objects on S3 (tails.ts): each target is a presigned
 * POST whose policy caps its body, enforced by the store (the loopback S3
 * server checks the policy's signature, expiry and content-length-range as S3
 * does); batches are small and count against the recording's size limit and
 * the user's reserve; tails of no open recording are removed by the sweeper.
 * Here a recording may hold 8 MiB (two parts at most) and a user 16 MiB.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TailTargets } from '@sortie/contract';
import {
  liveBatches,
  ORPHAN_TAIL_GRACE_MS,
  TAIL_BATCH_MAX,
  TAIL_URLS_FOR_PART,
  TAIL_URLS_PER_NEXT_PART,
} from '../src/recordings/tails.js';
import { eq } from 'drizzle-orm';
import { recordings } from '../src/db/schema.js';
import { fakeClock, postTail, testApp, token, type TestApp } from './helpers.js';

const MiB = 1024 * 1024;
const clock = fakeClock();
let t: TestApp;
beforeAll(async () => {
  t = await testApp({
    clock,
    env: { SORTIE_RECORDING_MAX_SIZE_MB: '8', SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER: '16' },
  });
  expect(t.storage.backend).toBe('s3');
});
afterAll(async () => {
  t?.service.jobs.sweeper.stopPending();
  await t?.close();
});

/** Each test records as a user of its own: the user's reserve (16 MiB) is the test's alone. */
let me: Record<string, string> = {};
let users = 0;
beforeEach(async () => {
  me = { authorization: `Bearer ${await token({ sub: `bounds-${++users}` })}` };
});

async function create(): Promise<string> {
  const r = await t.json('POST', '/api/recordings', { sessionId: 'bounds', mimeType: 'video/webm' }, me);
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

function askTails(id: string, body: Record<string, unknown>): Promise<Response> {
  return t.json('POST', `/api/recordings/${id}/tails`, body, me);
}

async function batch(id: string, partNumber = 1, firstSeq = 0, maxLagMs?: number): Promise<TailTargets> {
  const r = await askTails(id, { partNumber, firstSeq, ...(maxLagMs ? { maxLagMs } : {}) });
  expect(r.status).toBe(200);
  return (await r.json()) as TailTargets;
}

const tailBytes = async (id: string) => (await t.storage.tails!.listTails(id)).reduce((n, x) => n + x.sizeBytes, 0);

function policyOf(target: { fields: Record<string, string> }): { expiration: string; conditions: unknown[] } {
  return JSON.parse(Buffer.from(target.fields.policy!, 'base64').toString('utf8'));
}

async function errorCode(res: Response): Promise<string | undefined> {
  return /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1];
}

describe('a tail target (S3 presigned POST)', () => {
  it('is refused by the store over its cap, and stores exactly its cap', async () => {
    const id = await create();
    const b = await batch(id);
    expect(b.method).toBe('POST');
    const [first, second] = b.urls;
    const over = await postTail(first!, randomBytes(b.maxBytes + 1));
    expect(over.status).toBe(400);
    expect(await errorCode(over)).toBe('EntityTooLarge');
    const big = await postTail(first!, randomBytes(20 * MiB));
    expect(big.status).toBe(400);
    expect(await tailBytes(id)).toBe(0);
    expect((await postTail(second!, randomBytes(b.maxBytes))).status).toBe(204);
    expect(await t.storage.tails!.listTails(id)).toEqual([{ partNumber: 1, seq: 1, sizeBytes: b.maxBytes }]);
  });

  it('carries its range and a short expiry in a signed policy; a policy raised by the client is refused', async () => {
    const id = await create();
    for (const [maxLagMs, ttlSeconds] of [
      [undefined, 120],
      [1000, 120],
      [60_000, 600],
    ] as const) {
      const b = await batch(id, 1, 0, maxLagMs);
      expect(Date.parse(b.expiresAt) - clock.now().getTime()).toBe(ttlSeconds * 1000);
      for (const target of b.urls) {
        const policy = policyOf(target);
        expect(policy.expiration).toBe(b.expiresAt);
        expect(policy.conditions).toContainEqual(['content-length-range', 0, b.maxBytes]);
        expect(policy.conditions).toContainEqual({ key: target.fields.key });
        expect(target.fields.key).toMatch(new RegExp(`tails/${id}/${target.partNumber}-${target.seq}$`));
      }
    }
    const target = (await batch(id)).urls[0]!;
    const raised = policyOf(target);
    raised.conditions = raised.conditions.map((c) =>
      Array.isArray(c) && c[0] === 'content-length-range' ? ['content-length-range', 0, 100 * MiB] : c,
    );
    const forged = {
      ...target,
      fields: { ...target.fields, policy: Buffer.from(JSON.stringify(raised)).toString('base64') },
    };
    const res = await postTail(forged, randomBytes(1000));
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('SignatureDoesNotMatch');
  });
});

describe('tail batches', () => {
  it('are small and stay within the parts and tails a recording can use', async () => {
    const id = await create();
    const b = await batch(id, 1, 0);
    expect(b.urls.length).toBeLessThanOrEqual(TAIL_BATCH_MAX);
    expect(b.urls.map((u) => `${u.partNumber}-${u.seq}`)).toEqual([
      ...Array.from({ length: TAIL_URLS_FOR_PART }, (_, i) => `1-${i}`),
      ...Array.from({ length: TAIL_URLS_PER_NEXT_PART }, (_, i) => `2-${i}`),
    ]);
    // 8 MiB holds at most two parts (the first of 5 MiB): no targets for a third.
    const last = await batch(id, 2, 0);
    expect(last.urls.every((u) => u.partNumber === 2)).toBe(true);
    for (const body of [
      { partNumber: 3, firstSeq: 0 },
      { partNumber: 10_000, firstSeq: 0 },
      { partNumber: 1, firstSeq: 10_001 },
      { partNumber: 1, firstSeq: 100_000 },
      { partNumber: 1, firstSeq: 0, maxLagMs: 10 },
    ]) {
      const r = await askTails(id, body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
  });
});

describe('a recording that keeps recording', () => {
  it('gets a batch every few tails for longer than targets last: each batch counts only until it expires', async () => {
    const id = await create();
    // A batch every 12 s (6 tails at 2 s) for 10 minutes, five times the targets' lifetime.
    for (let i = 0; i < 50; i++) {
      const b = await batch(id, 1, i * 6);
      expect(b.maxBytes).toBeGreaterThanOrEqual(16 * 1024);
      clock.advance(12_000);
    }
  });
});

describe('tails of a part stored in full', () => {
  it('are removed at the next batch and no longer count against the recording', async () => {
    const id = await create();
    const b = await batch(id, 1, 0);
    for (const target of b.urls.filter((u) => u.partNumber === 1))
      expect((await postTail(target, randomBytes(b.maxBytes))).status).toBe(204);
    const part1 = randomBytes(t.storage.minPartSizeBytes);
    const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes: part1.length }, me);
    expect(r.status).toBe(200);
    expect((await fetch(((await r.json()) as { url: string }).url, { method: 'PUT', body: part1 })).status).toBe(200);
    clock.advance(11 * 60_000); // the first batch's targets have expired
    const next = await batch(id, 2, 0);
    expect(await t.storage.tails!.listTails(id)).toEqual([]);
    // 8 MiB less the 5 MiB part, this batch's share of it: the part-1 tails count no more.
    expect(next.maxBytes).toBe(Math.floor((8 * MiB - part1.length) / (liveBatches(2000) * next.urls.length)));
  });
});

describe('the quota probe: everything a user can get into the bucket through tails', () => {
  it('stores 0 bytes over the recording limit (8 MiB) and the user reserve (16 MiB)', async () => {
    const ids = [await create(), await create(), await create()];
    // A tail over its target's cap is refused by the store.
    const first = await batch(ids[0]!);
    expect((await postTail(first.urls[0]!, randomBytes(first.maxBytes + 1))).status).toBe(400);
    // Each recording asks for batches of parts 1 and 2 in turn until refused for good (fillTails throws if never).
    for (const id of ids) await fillTails(id, (round) => 1 + (round % 2));
    const bytes = await Promise.all(ids.map(tailBytes));
    console.info(`quota probe: tail bytes in the bucket per recording: ${bytes.join(', ')}`);
    for (const n of bytes) expect(n).toBeLessThanOrEqual(8 * MiB);
    expect(bytes.reduce((a, n) => a + n, 0)).toBeLessThanOrEqual(16 * MiB);
    // The probe did store what the caps allow.
    expect(bytes[0]).toBeGreaterThan(4 * MiB);
  }, 300_000); // some 500 uploads: no bound on how long they take on a busy machine
});

/**
 * Asks for tail batches (of part `partOf(round)`: 8 targets of it, 2 of the next each) and fills every target
 * to its cap, until the recording takes no more tails even once every target it was given has expired.
 * Answers the bytes written.
 */
async function fillTails(id: string, partOf: (round: number) => number = () => 1): Promise<number> {
  let seq = 0;
  let waited = false;
  let written = 0;
  for (let round = 0; round < 100; round++) {
    const r = await askTails(id, { partNumber: partOf(round), firstSeq: seq });
    if (r.status === 413) {
      if (waited) return written;
      clock.advance(3 * 60_000);
      waited = true;
      continue;
    }
    expect(r.status).toBe(200);
    waited = false;
    const b = (await r.json()) as TailTargets;
    seq += TAIL_URLS_FOR_PART;
    for (const target of b.urls) {
      expect((await postTail(target, randomBytes(b.maxBytes))).status).toBe(204);
      written += b.maxBytes;
    }
  }
  throw new Error('the recording kept taking tails');
}

/** A part's POST /parts and, when given a URL, its PUT: the status of the last answer. */
async function putPart(id: string, partNumber: number, sizeBytes: number): Promise<number> {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes }, me);
  if (r.status !== 200) return r.status;
  const put = await fetch(((await r.json()) as { url: string }).url, { method: 'PUT', body: randomBytes(sizeBytes) });
  await put.arrayBuffer();
  return put.status;
}

/** What the bucket holds for a recording: its stored parts and its tails. */
async function inBucket(id: string): Promise<{ parts: number; tails: number }> {
  const row = (await t.service.recordings.rowById(id))!;
  const parts = await t.storage.listParts({ key: row.storageKey, uploadId: row.uploadId });
  return { parts: parts.reduce((n, p) => n + p.sizeBytes, 0), tails: await tailBytes(id) };
}

describe('parts and tails together', () => {
  it("a part counts once with the tails it replaces, and with later parts' tails in full: 0 bytes over 8 MiB once they go", async () => {
    const id = await create();
    const tails = await fillTails(id);
    expect(tails).toBeGreaterThan(6 * MiB);
    const floor = t.storage.minPartSizeBytes;
    // Part 1 replaces its own tails: it fits.
    expect(await putPart(id, 1, floor)).toBe(200);
    // Part 2 would hold 3 MiB beside part 1 and every tail of part 2 not yet replaced: over the limit.
    expect(await putPart(id, 2, 8 * MiB - floor)).toBe(413);
    const before = await inBucket(id);
    // Part 1 and the tails it replaces are both in the bucket until those go: at most part 1 over the limit.
    expect(before.parts + before.tails).toBeLessThanOrEqual(8 * MiB + floor);
    // Once every target has expired (and a minute for uploads begun before), the sweeper removes part 1's tails.
    clock.advance(11 * 60_000);
    await t.service.jobs.sweeper.run();
    const after = await inBucket(id);
    console.info(
      `quota probe, parts and tails: ${tails} bytes of tails written, then part 1 (${floor}); in the bucket ` +
        `${before.parts + before.tails} bytes, ${after.parts + after.tails} once part 1's tails went (limit ${8 * MiB})`,
    );
    expect(after.parts).toBe(floor);
    expect(after.parts + after.tails).toBeLessThanOrEqual(8 * MiB);
    expect(after.tails).toBeGreaterThan(0); // part 2's tails stay: they are not yet in any part
    // Part 2 now fits, replacing its tails, within the limit.
    expect(await putPart(id, 2, 8 * MiB - floor)).toBe(200);
  }, 300_000);

  it("a user's tails count against their reserve when another recording asks for a part or a thumbnail", async () => {
    const [a, b, c] = [await create(), await create(), await create()];
    expect(await fillTails(a)).toBeGreaterThan(6 * MiB);
    const floor = t.storage.minPartSizeBytes;
    const bound = (await t.service.recordings.rowById(a))!.tailBytesBound;
    expect(await putPart(b, 1, floor)).toBe(200);
    // C takes what the reserve leaves beside A's tails and B's part, and not a byte more.
    const room = 16 * MiB - bound - floor;
    expect(room).toBeGreaterThan(0);
    expect(room).toBeLessThan(8 * MiB); // so that only the reserve, not C's own limit, can refuse it
    const refused = await t.json('POST', `/api/recordings/${c}/parts`, { partNumber: 1, sizeBytes: room + 1 }, me);
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/your limit/);
    expect(await putPart(c, 1, room)).toBe(200);
    const thumb = await t.app.request(`/api/recordings/${c}/thumbnails/0`, {
      method: 'PUT',
      headers: { ...me, 'content-type': 'image/jpeg' },
      body: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(1000)]),
    });
    expect(thumb.status).toBe(413);
    const held = (await inBucket(a)).tails + (await inBucket(b)).parts + (await inBucket(c)).parts;
    expect(held).toBeLessThanOrEqual(16 * MiB);
  }, 300_000);
});

describe("a part's credit for the tails it replaces", () => {
  it('is at most one SDK part and one tail, however large a part a client declares', async () => {
    // A recording that may hold 100 MiB, holding 50 MiB of tails of part 1 (set as the tail batches would).
    const big = await testApp({
      clock,
      env: { SORTIE_RECORDING_MAX_SIZE_MB: '100', SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER: '1000' },
    });
    try {
      const r = await big.json('POST', '/api/recordings', { sessionId: 'credit', mimeType: 'video/webm' }, me);
      expect(r.status).toBe(201);
      const id = ((await r.json()) as { id: string }).id;
      await big.database.db
        .update(recordings)
        .set({ tailBytesBound: 50 * MiB, tailBytesByPart: { '1': 50 * MiB } })
        .where(eq(recordings.id, id));
      const ask = (sizeBytes: number) =>
        big.json('POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes }, me);
      // The credit: the 5 MiB floor (100 MiB over 9,999 parts is less) plus one 4 MiB tail, 9 MiB. Part 1 and the
      // tails it replaces may then hold 100 MiB between them: the part at most 59 MiB beside 50 MiB of tails.
      const credit = 5 * MiB + 4 * MiB;
      const largest = 100 * MiB - 50 * MiB + credit;
      const over = await ask(largest + 1);
      expect(over.status).toBe(413);
      expect((await ask(largest)).status).toBe(200);
      // Without the cap, a part as large as the tails got them all as credit: 60 MiB beside 50 MiB of tails.
      expect((await ask(60 * MiB)).status).toBe(413);
    } finally {
      big.service.jobs.sweeper.stopPending();
      await big.close();
    }
  }, 120_000);
});

describe('tails of no open recording', () => {
  it('written after the recording was deleted are removed by the sweeper after the grace period; an open one’s stay', async () => {
    clock.set(new Date()); // the bucket's LastModified is the real clock's
    const gone = await create();
    const open = await create();
    const targets = await batch(gone);
    const kept = await batch(open);
    expect((await t.json('DELETE', `/api/recordings/${gone}`, undefined, me)).status).toBeLessThan(300);
    // The target outlives the recording: the store takes the tail.
    expect((await postTail(targets.urls[0]!, randomBytes(1000))).status).toBe(204);
    expect((await postTail(kept.urls[0]!, randomBytes(1000))).status).toBe(204);
    await t.service.jobs.sweeper.run();
    expect(await tailBytes(gone)).toBe(1000);
    clock.advance(ORPHAN_TAIL_GRACE_MS + 1000);
    await batch(open, 1, 1); // the open recording is still active
    await t.service.jobs.sweeper.run();
    expect(await tailBytes(gone)).toBe(0);
    expect(await tailBytes(open)).toBe(1000);
  });

  it('are found across pages of the bucket listing', async () => {
    const a = await create();
    const b = await create();
    for (const id of [a, b]) {
      const targets = await batch(id);
      for (const target of targets.urls.slice(0, 3)) expect((await postTail(target, randomBytes(10))).status).toBe(204);
    }
    const folders = [];
    for await (const f of t.storage.tails!.listTailFolders(2))
      if (f.recordingId === a || f.recordingId === b) folders.push(f);
    expect(folders.map((f) => [f.recordingId, f.objects, f.sizeBytes]).sort()).toEqual(
      [
        [a, 3, 30],
        [b, 3, 30],
      ].sort(),
    );
  });
});
