import { describe, expect, it } from 'vitest';
import { DEFAULT_MIME_TYPES, defaults, resolveOptions, type RecorderOptions } from './options.js';

const base: RecorderOptions = { source: {} as HTMLCanvasElement, sessionId: 's', getToken: 't' };

describe('options: defaults resolved once', () => {
  it('fills every option left out from `defaults`', () => {
    const o = resolveOptions(base);
    expect(o).toMatchObject({ ...defaults, sessionId: 's' });
    expect(o.mimeTypes).toBe(DEFAULT_MIME_TYPES);
    expect(o).toMatchObject({
      frameRate: 30,
      videoBitsPerSecond: 2_500_000,
      timesliceMs: 1000,
      partSizeBytes: 1024 * 1024,
      concurrency: 3,
      maxSizeBytes: Infinity,
      maxUnsentBytes: 256 * 1024 * 1024,
    });
  });

  it('keeps what the caller gave, and treats undefined as left out', () => {
    const o = resolveOptions({ ...base, frameRate: 15, timesliceMs: undefined, maxSizeBytes: 1000 });
    expect(o.frameRate).toBe(15);
    expect(o.timesliceMs).toBe(1000);
    expect(o.maxSizeBytes).toBe(1000);
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(defaults)).toBe(true);
  });
});
