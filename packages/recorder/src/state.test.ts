import { describe, expect, it } from 'vitest';
import { canStart, canTransition, isCapturing, TRANSITIONS, type RecorderState } from './state.js';

const ALL = Object.keys(TRANSITIONS) as RecorderState[];

describe('recorder state machine', () => {
  it('has exactly the states of the SDK surface in docs/API.md', () => {
    expect(ALL.sort()).toEqual(['failed', 'idle', 'paused', 'ready', 'recording', 'starting', 'stopping', 'uploading']);
  });

  it('walks the happy path idle → starting → recording → paused → recording → stopping → uploading → ready', () => {
    const path: RecorderState[] = [
      'idle',
      'starting',
      'recording',
      'paused',
      'recording',
      'stopping',
      'uploading',
      'ready',
      'starting',
    ];
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
  });

  it('refuses skipping steps: no ready without uploading, no upload before stopping, no pause while idle', () => {
    expect(canTransition('recording', 'ready')).toBe(false);
    expect(canTransition('recording', 'uploading')).toBe(false);
    expect(canTransition('idle', 'paused')).toBe(false);
    expect(canTransition('ready', 'failed')).toBe(false);
    expect(canTransition('uploading', 'recording')).toBe(false);
  });

  it('lets every active state fail, and abort return to idle', () => {
    for (const s of ['starting', 'recording', 'paused', 'stopping', 'uploading'] as const) {
      expect(canTransition(s, 'failed')).toBe(true);
      expect(canTransition(s, 'idle')).toBe(true);
    }
  });

  it('starts only from idle, ready or failed; captures only while recording or paused', () => {
    expect(ALL.filter(canStart).sort()).toEqual(['failed', 'idle', 'ready']);
    expect(ALL.filter(isCapturing).sort()).toEqual(['paused', 'recording']);
  });
});
