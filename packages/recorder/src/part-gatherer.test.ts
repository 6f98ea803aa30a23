import { describe, expect, it } from 'vitest';
import { PartGatherer, planParts } from './part-gatherer.js';

const MiB = 1024 * 1024;
const blob = (n: number) => new Blob([new Uint8Array(n)]);

describe('planParts', () => {
  it('keeps the wished size where the service allows any size (local)', () => {
    expect(planParts({ minPartSizeBytes: 0, maxParts: 10_000, maxSizeBytes: 500 * MiB }, MiB)).toMatchObject({
      partSizeBytes: MiB,
      firstPartSizeBytes: 1,
      timeCommits: true,
    });
  });

  it("raises parts to S3's 5 MiB minimum, part 1 included", () => {
    expect(planParts({ minPartSizeBytes: 5 * MiB, maxParts: 10_000, maxSizeBytes: 500 * MiB }, MiB)).toMatchObject({
      partSizeBytes: 5 * MiB,
      firstPartSizeBytes: 5 * MiB,
      timeCommits: false,
    });
  });

  it('grows the part size so that the largest allowed recording fits in maxParts', () => {
    const rules = { minPartSizeBytes: 5 * MiB, maxParts: 10_000, maxSizeBytes: 100_000 * MiB };
    const { partSizeBytes } = planParts(rules, MiB);
    expect(partSizeBytes).toBeGreaterThan(10 * MiB);
    // Worst case: every part but the last exactly at the size, the last almost empty.
    expect(Math.floor(rules.maxSizeBytes / partSizeBytes) + 1).toBeLessThanOrEqual(rules.maxParts);
  });
});

describe('planParts: part 1 holds the head', () => {
  it('keeps part 1 open until it holds headBytes, so a 1-byte first chunk does not close it alone', () => {
    const plan = planParts({ minPartSizeBytes: 0, maxParts: 10_000, maxSizeBytes: 500 * MiB }, MiB, 64 * 1024);
    expect(plan.firstPartSizeBytes).toBe(64 * 1024);
    const g = new PartGatherer(plan);
    expect(g.push(blob(1))).toBeNull();
    expect(g.push(blob(64 * 1024))).toMatchObject({ partNumber: 1 });
    expect(g.partCount).toBe(1);
  });

  it("is S3's minimum when that is larger", () => {
    expect(
      planParts({ minPartSizeBytes: 5 * MiB, maxParts: 10_000, maxSizeBytes: 500 * MiB }, MiB, 64 * 1024)
        .firstPartSizeBytes,
    ).toBe(5 * MiB);
  });
});

describe('planParts at the boundary', () => {
  // 1-byte chunks close every part exactly at its target: the most parts a recording of that size can make.
  function worstCaseParts(
    rules: { minPartSizeBytes: number; maxParts: number; maxSizeBytes: number },
    wish: number,
  ): number {
    const g = new PartGatherer(planParts(rules, wish));
    let parts = 0;
    for (let i = 0; i < rules.maxSizeBytes; i++) if (g.push(blob(1))) parts++;
    return parts + (g.flush() ? 1 : 0);
  }

  it('never makes more than maxParts parts, part 1 closing early included (every small case)', () => {
    for (let maxParts = 1; maxParts <= 6; maxParts++) {
      for (let maxSizeBytes = 1; maxSizeBytes <= 60; maxSizeBytes++) {
        for (const minPartSizeBytes of [0, 3]) {
          const rules = { minPartSizeBytes, maxParts, maxSizeBytes };
          expect(worstCaseParts(rules, 1), JSON.stringify(rules)).toBeLessThanOrEqual(maxParts);
        }
      }
    }
  });

  it('with maxParts = 1, part 1 holds the whole recording', () => {
    const rules = { minPartSizeBytes: 0, maxParts: 1, maxSizeBytes: 300 };
    expect(planParts(rules, 1)).toMatchObject({ partSizeBytes: 300, firstPartSizeBytes: 300, timeCommits: false });
    expect(worstCaseParts(rules, 1)).toBe(1);
  });

  it('reaches exactly maxParts in the worst case (the bound is tight, not loose)', () => {
    const rules = { minPartSizeBytes: 0, maxParts: 4, maxSizeBytes: 301 };
    expect(worstCaseParts(rules, 1)).toBe(4);
  });
});

describe('PartGatherer', () => {
  it('closes part 1 at its own size, later parts at the part size, whole chunks only', () => {
    const g = new PartGatherer({ partSizeBytes: 100, firstPartSizeBytes: 1 });
    expect(g.push(blob(30))).toMatchObject({ partNumber: 1 });
    expect(g.push(blob(60))).toBeNull();
    expect(g.bufferedBytes).toBe(60);
    const p2 = g.push(blob(60))!;
    expect(p2.partNumber).toBe(2);
    expect(p2.data.size).toBe(120);
    expect(g.bufferedBytes).toBe(0);
  });

  it('keeps the bytes in order across parts', async () => {
    const g = new PartGatherer({ partSizeBytes: 4, firstPartSizeBytes: 4 });
    const parts = [
      g.push(new Blob([Uint8Array.of(1, 2)])),
      g.push(new Blob([Uint8Array.of(3, 4)])),
      g.push(new Blob([Uint8Array.of(5)])),
      g.flush(),
    ].filter((p) => p !== null);
    const bytes = await Promise.all(parts.map(async (p) => [...new Uint8Array(await p.data.arrayBuffer())]));
    expect(parts.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(bytes).toEqual([[1, 2, 3, 4], [5]]);
  });

  it('ignores empty chunks and flushes nothing when nothing is buffered', () => {
    const g = new PartGatherer({ partSizeBytes: 10, firstPartSizeBytes: 1 });
    expect(g.push(blob(0))).toBeNull();
    expect(g.flush()).toBeNull();
    expect(g.partCount).toBe(0);
  });

  it('never makes a part under the minimum except the last (S3 rule)', () => {
    const plan = planParts({ minPartSizeBytes: 5 * MiB, maxParts: 10_000, maxSizeBytes: 500 * MiB });
    const g = new PartGatherer(plan);
    const parts = [];
    for (let i = 0; i < 41; i++) {
      const p = g.push(blob(700 * 1024));
      if (p) parts.push(p);
    }
    const last = g.flush();
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.data.size).toBeGreaterThanOrEqual(5 * MiB);
    expect(last).not.toBeNull();
  });
});

describe('PartGatherer: parts closed by time (maxLagMs)', () => {
  it('closes what is buffered early where parts may be any size, never on S3', () => {
    const local = new PartGatherer(
      planParts({ minPartSizeBytes: 0, maxParts: 10_000, maxSizeBytes: 500 * MiB }, MiB, 64 * 1024),
    );
    expect(local.closeEarly()).toBeNull(); // nothing buffered
    expect(local.push(blob(300))).toBeNull();
    expect(local.closeEarly()).toMatchObject({ partNumber: 1 });
    expect(local.push(blob(10))).toBeNull();
    expect(local.closeEarly()!.data.size).toBe(10);
    const s3 = new PartGatherer(
      planParts({ minPartSizeBytes: 5 * MiB, maxParts: 10_000, maxSizeBytes: 500 * MiB }, MiB),
    );
    s3.push(blob(300));
    expect(s3.canCloseEarly()).toBe(false);
    expect(s3.closeEarly()).toBeNull();
    expect(s3.bufferedBytes).toBe(300);
  });

  // Adversary: close early after every chunk it is allowed to, with chunks of 1 byte, up to the size limit.
  function greedyEarlyParts(
    rules: { minPartSizeBytes: number; maxParts: number; maxSizeBytes: number },
    wish: number,
    chunk: number,
  ): number {
    const g = new PartGatherer(planParts(rules, wish));
    let parts = 0;
    for (let sent = 0; sent + chunk <= rules.maxSizeBytes; sent += chunk) {
      if (g.push(blob(chunk))) parts++;
      if (g.closeEarly()) parts++;
    }
    return parts + (g.flush() ? 1 : 0);
  }

  it('never lets parts closed by time push a recording of the size limit past maxParts (every small case)', () => {
    for (let maxParts = 1; maxParts <= 8; maxParts++) {
      for (let maxSizeBytes = 1; maxSizeBytes <= 60; maxSizeBytes++) {
        for (const wish of [1, 4, 16]) {
          for (const chunk of [1, 3]) {
            const rules = { minPartSizeBytes: 0, maxParts, maxSizeBytes };
            expect(greedyEarlyParts(rules, wish, chunk), JSON.stringify({ ...rules, wish, chunk })).toBeLessThanOrEqual(
              maxParts,
            );
          }
        }
      }
    }
  });

  it('still closes early while the part count has room (the limit is not hit by a normal recording)', () => {
    const g = new PartGatherer(planParts({ minPartSizeBytes: 0, maxParts: 10_000, maxSizeBytes: 500 * MiB }, MiB));
    let parts = 0;
    for (let i = 0; i < 5000; i++) {
      if (g.push(blob(10_000))) parts++; // part 1 closes by size at once (no head asked for here)
      if (g.closeEarly()) parts++;
    }
    expect(parts).toBe(5000);
    expect(g.bufferedBytes).toBe(0);
  });
});
