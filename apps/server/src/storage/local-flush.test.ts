/**
 * The flush of stored parts (LocalStorage.flushSoon): every stored part is flushed, FLUSH_DELAY_MS
 * after it is stored and not before, at most FLUSHES_IN_FLIGHT at once (a flush holds a libuv
 * thread for as long as the disk takes), in the order the parts were stored, and a failed flush
 * neither fails the part nor stops the queue.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_DELAY_MS, FLUSHES_IN_FLIGHT, LocalStorage } from './local.js';

/** Flushes wait until the test lets them end; the real one runs after that (it must find the file). */
class HeldFlushes extends LocalStorage {
  started: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private waiting: (() => void)[] = [];
  failNext = false;

  protected override async flushFile(file: string): Promise<void> {
    this.started.push(path.basename(file).slice(0, 6));
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight--;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('EIO');
    }
    await super.flushFile(file);
  }

  /** Lets the flushes running now end; answers how many did. */
  release(): number {
    const n = this.waiting.length;
    for (const resolve of this.waiting.splice(0)) resolve();
    return n;
  }
}

const KEY = `${randomUUID()}.webm`;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** `flushDelayMs`: 0 unless a test is about the delay. */
async function storage(flushDelayMs = 0): Promise<HeldFlushes> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sortie-flush-'));
  dirs.push(dir);
  const s = new HeldFlushes({ root: dir, signingKey: randomBytes(32).toString('hex'), flushDelayMs });
  await s.init();
  return s;
}

// A released flush still runs the real fdatasync, which takes as long as the disk does: wait for what must follow.
const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 5 });

describe('the flush of stored parts', () => {
  it('flushes every stored part, at most two at once, in the order they were stored', async () => {
    const s = await storage();
    for (let n = 1; n <= 5; n++) {
      const body = randomBytes(1000);
      await s.writePart({ key: KEY, partNumber: n, sizeBytes: body.length, body: Readable.from([body]) });
    }
    expect(FLUSHES_IN_FLIGHT).toBe(2);
    await until(() => expect(s.started).toEqual(['000001', '000002']));
    expect(s.release()).toBe(2);
    await until(() => expect(s.started).toEqual(['000001', '000002', '000003', '000004']));
    expect(s.release()).toBe(2);
    await until(() => expect(s.started).toHaveLength(5));
    expect(s.release()).toBe(1);
    expect(s.started).toEqual(['000001', '000002', '000003', '000004', '000005']);
    expect(s.maxInFlight).toBe(2);
    await until(() => expect(s.inFlight).toBe(0));
  });

  it('goes on after a failed flush, and the part stays stored', async () => {
    const s = await storage();
    const bodies = [randomBytes(500), randomBytes(600), randomBytes(700)];
    const stored = [];
    for (const [i, body] of bodies.entries()) {
      stored.push(
        await s.writePart({ key: KEY, partNumber: i + 1, sizeBytes: body.length, body: Readable.from([body]) }),
      );
    }
    await until(() => expect(s.started).toHaveLength(2));
    s.failNext = true;
    s.release();
    await until(() => expect(s.started).toHaveLength(3));
    s.release();
    await until(() => expect(s.inFlight).toBe(0));
    expect(s.started).toEqual(['000001', '000002', '000003']);
    for (const [i, part] of stored.entries()) {
      const chunks: Buffer[] = [];
      for await (const c of await s.readPart({ key: KEY, partNumber: i + 1, etag: part.etag })) chunks.push(c);
      expect(Buffer.concat(chunks).equals(bodies[i]!)).toBe(true);
    }
  });

  it("starts a part's flush FLUSH_DELAY_MS after the part is stored, not before", async () => {
    expect(FLUSH_DELAY_MS).toBe(5000);
    // Only setTimeout is faked: the part's file I/O runs for real, and the flush's timer waits for the test.
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const s = await storage(FLUSH_DELAY_MS);
      const body = randomBytes(1000);
      await s.writePart({ key: KEY, partNumber: 1, sizeBytes: body.length, body: Readable.from([body]) });
      await vi.advanceTimersByTimeAsync(FLUSH_DELAY_MS - 1);
      expect(s.started).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await until(() => expect(s.started).toEqual(['000001']));
      expect(s.release()).toBe(1);
      await until(() => expect(s.inFlight).toBe(0));
    } finally {
      vi.useRealTimers();
    }
  });
});
