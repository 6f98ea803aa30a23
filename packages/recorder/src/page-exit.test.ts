import { describe, expect, it } from 'vitest';
import { pageHideAction, visibilityAction } from './page-exit.js';
import type { RecorderState } from './state.js';
import { fitsKeepalive, KEEPALIVE_BODY_LIMIT } from './uploader.js';

const ALL: RecorderState[] = ['idle', 'starting', 'recording', 'paused', 'stopping', 'uploading', 'ready', 'failed'];

describe('pagehide', () => {
  it('ends an open recording when the page is destroyed (not persisted)', () => {
    expect(pageHideAction(false, 'recording', true)).toBe('end');
    expect(pageHideAction(false, 'paused', true)).toBe('end');
    expect(pageHideAction(false, 'starting', true)).toBe('end');
    // stop() under way: its complete may never be sent now.
    expect(pageHideAction(false, 'stopping', true)).toBe('end');
    expect(pageHideAction(false, 'uploading', true)).toBe('end');
  });

  it('does nothing for a recording that is finished or never began', () => {
    for (const s of ['idle', 'ready', 'failed'] as const) {
      expect(pageHideAction(false, s, true)).toBe('none');
      expect(pageHideAction(true, s, true)).toBe('none');
    }
  });

  it('only flushes when the page goes into the back/forward cache (it may come back recording)', () => {
    expect(pageHideAction(true, 'recording', true)).toBe('flush');
    expect(pageHideAction(true, 'paused', true)).toBe('flush');
    expect(pageHideAction(true, 'uploading', true)).toBe('none');
  });

  it('without an end URL (an older service), flushes what it can and leaves the end to the abandon window', () => {
    expect(pageHideAction(false, 'recording', false)).toBe('flush');
    expect(pageHideAction(false, 'uploading', false)).toBe('none');
  });
});

describe('visibilitychange', () => {
  it('is never an end: hidden while capturing flushes, visible does nothing', () => {
    for (const s of ALL) {
      expect(visibilityAction(true, s)).toBe(s === 'recording' || s === 'paused' ? 'flush' : 'none');
      expect(visibilityAction(false, s)).toBe('none');
    }
  });
});

describe('keepalive PUTs', () => {
  it('go with keepalive only while the bodies in flight stay within 64 KiB', () => {
    expect(KEEPALIVE_BODY_LIMIT).toBe(65_536);
    expect(fitsKeepalive(65_536, 0)).toBe(true);
    expect(fitsKeepalive(65_537, 0)).toBe(false);
    expect(fitsKeepalive(40_000, 30_000)).toBe(false);
    expect(fitsKeepalive(30_000, 30_000)).toBe(true);
    expect(fitsKeepalive(0, 0)).toBe(false);
  });
});
