/** The free-space ledger alone, its disk a function the test controls. */
import { describe, expect, it } from 'vitest';
import { SpaceLedger } from './space-ledger.js';
import { InsufficientStorageError } from './types.js';

/** A disk whose readings the test answers one by one. */
function disk() {
  const pending: ((free: number) => void)[] = [];
  let reads = 0;
  const ledger = new SpaceLedger(
    () =>
      new Promise<number>((resolve) => {
        reads++;
        pending.push(resolve);
      }),
  );
  const answer = async (free: number) => {
    // Let the callers reach their reading first.
    while (pending.length === 0) await new Promise((r) => setImmediate(r));
    pending.shift()!(free);
  };
  return { ledger, answer, reads: () => reads };
}

describe('SpaceLedger', () => {
  it('counts the bytes promised to writes under way: two writes at once cannot pass the reserve together', async () => {
    const { ledger, answer, reads } = disk();
    const a = ledger.reserve(100, 50);
    const b = ledger.reserve(100, 50);
    await answer(240);
    const first = await a;
    await expect(b).rejects.toBeInstanceOf(InsufficientStorageError);
    // Both waited for the same reading.
    expect(reads()).toBe(1);
    first.release();
    const c = ledger.reserve(100, 50);
    // The write is done: the disk now counts its bytes itself.
    await answer(160);
    await c;
  });

  it('still counts a write that ended while a reading was in flight (the reading may predate its bytes)', async () => {
    const { ledger, answer } = disk();
    const a = ledger.reserve(100, 50);
    await answer(240);
    const held = await a;
    const b = ledger.reserve(100, 50);
    // A's bytes land and it is released while B's reading is out; that reading was taken before them.
    held.release();
    await answer(240);
    await expect(b).rejects.toBeInstanceOf(InsufficientStorageError);
    // A reading begun after the release sees the bytes on the disk, and only there.
    const c = ledger.reserve(100, 0);
    await answer(140);
    (await c).release();
    expect(await Promise.all([ledger.available(), answer(40)])).toEqual([40, undefined]);
  });

  it('releases once, however often release is called', async () => {
    const { ledger, answer } = disk();
    const a = ledger.reserve(100, 0);
    await answer(100);
    const held = await a;
    held.release();
    held.release();
    expect(await Promise.all([ledger.available(), answer(100)])).toEqual([100, undefined]);
  });
});
