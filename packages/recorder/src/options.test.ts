import { describe, expect, it } from 'vitest';
import { DEFAULT_MIME_TYPES, defaults, resolveOptions, type RecorderOptions } from './options.js';

const base: RecorderOptions = { source: {} as HTMLCanvasElement, sessionId: 's', getToken: 't' };

describe('options: defaults resolved once', () => {
  it('fills every option left out from `defaults`', () => {
    const o = resolveOptions(base);
    const { frameRate, videoBitsPerSecond, ...resolvedHere } = defaults;
    expect(o).toMatchObject({ ...resolvedHere, sessionId: 's' });
    expect(o.mimeTypes).toBe(DEFAULT_MIME_TYPES);
    // The service's config names these at start(); `defaults` only when it does not.
    expect(o.frameRate).toBeUndefined();
    expect(o.videoBitsPerSecond).toBeUndefined();
    expect({ frameRate, videoBitsPerSecond }).toEqual({ frameRate: 15, videoBitsPerSecond: 1_500_000 });
    expect(o).toMatchObject({
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
