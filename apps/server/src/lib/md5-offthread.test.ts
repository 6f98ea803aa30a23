import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Md5Hasher } from './md5-offthread.js';

async function hashChunks(chunks: Buffer[]): Promise<string> {
  const h = new Md5Hasher();
  for (const c of chunks) await new Promise<void>((r) => h.update(c, r));
  return h.digest();
}

describe('Md5Hasher', () => {
  it('matches node:crypto MD5 for data split at odd places across batches', async () => {
    const data = randomBytes(5 * 1048576 + 12345);
    const chunks: Buffer[] = [];
    for (let i = 0, step = 1; i < data.length; i += step, step = (step * 7 + 13) % 300_000 || 1) chunks.push(data.subarray(i, i + step));
    expect(await hashChunks(chunks)).toBe(createHash('md5').update(data).digest('hex'));
  });

  it('hashes the empty input and several streams at once independently', async () => {
    const a = randomBytes(3_000_000);
    const b = randomBytes(10);
    const [ha, hb, he] = await Promise.all([hashChunks([a.subarray(0, 1), a.subarray(1)]), hashChunks([b]), hashChunks([])]);
    expect(ha).toBe(createHash('md5').update(a).digest('hex'));
    expect(hb).toBe(createHash('md5').update(b).digest('hex'));
    expect(he).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });
});
