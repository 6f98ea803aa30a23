/** Auto-record against a stand-in recorder (the real recorder is exercised in test/browser). */
import { describe, expect, it } from 'vitest';
import { autoRecord } from './auto-record.js';
import type { Recorder } from './recorder.js';
import type { RecorderState } from './state.js';

function fakeRecorder(autoRecordSetting: boolean) {
  let state: RecorderState = 'idle';
  const calls: string[] = [];
  // Stands for the service's setting; a cached read only sees the value of the first call.
  let cached: boolean | null = null;
  const recorder = {
    get state() {
      return state;
    },
    getConfig: async (opts: { fresh?: boolean } = {}) => {
      if (cached === null || opts.fresh) cached = setting.autoRecord;
      return {
        enabled: true,
        autoRecord: cached,
        maxSizeBytes: 1,
        backend: 'local' as const,
        minPartSizeBytes: 0,
        maxParts: 10_000,
      };
    },
    start: async () => {
      calls.push('start');
      state = 'recording';
      return {} as never;
    },
    stop: async () => {
      calls.push('stop');
      state = 'ready';
      return {} as never;
    },
  } as unknown as Recorder;
  const setting = { autoRecord: autoRecordSetting };
  return { recorder, calls, setting, userStops: () => void (state = 'ready') };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('autoRecord', () => {
  it('starts when the session enters running and autoRecord is on', async () => {
    const f = fakeRecorder(true);
    const auto = autoRecord(f.recorder, 'starting');
    await settle();
    expect(f.calls).toEqual([]);
    auto.update('running');
    await settle();
    expect(f.calls).toEqual(['start']);
  });

  it('does nothing when the administrator left autoRecord off', async () => {
    const f = fakeRecorder(false);
    autoRecord(f.recorder, 'running');
    await settle();
    expect(f.calls).toEqual([]);
  });

  it('respects a manual stop until the session runs again', async () => {
    const f = fakeRecorder(true);
    const auto = autoRecord(f.recorder, 'running');
    await settle();
    f.userStops();
    auto.update('running');
    await settle();
    expect(f.calls).toEqual(['start']);
    auto.update('stopped');
    auto.update('running');
    await settle();
    expect(f.calls).toEqual(['start', 'start']);
  });

  it('stops the recording it started when the session ends, and follows a subscribed session', async () => {
    const f = fakeRecorder(true);
    let listener: (s: string) => void = () => {};
    const session = {
      state: 'running',
      subscribe: (fn: (s: string) => void) => ((listener = fn), () => (listener = () => {})),
    };
    const auto = autoRecord(f.recorder, session);
    await settle();
    listener('ended');
    await settle();
    expect(f.calls).toEqual(['start', 'stop']);
    auto.dispose();
    listener('running');
    await settle();
    expect(f.calls).toEqual(['start', 'stop']);
  });

  it("sees the administrator's switch at the next session (config read fresh)", async () => {
    const f = fakeRecorder(false);
    const auto = autoRecord(f.recorder, 'running');
    await settle();
    expect(f.calls).toEqual([]);
    f.setting.autoRecord = true;
    auto.update('ended');
    auto.update('running');
    await settle();
    expect(f.calls).toEqual(['start']);
  });

  it('stops a recording whose start() was still in flight when the session ended', async () => {
    const f = fakeRecorder(true);
    let finishStart: () => void = () => {};
    const realStart = f.recorder.start.bind(f.recorder);
    // start() resolves only when the test says so; meanwhile the recorder is 'starting'.
    (f.recorder as { start: () => Promise<unknown> }).start = () =>
      new Promise((resolve) => (finishStart = () => resolve(realStart())));
    const auto = autoRecord(f.recorder, 'running');
    await settle();
    auto.update('ended');
    finishStart();
    await settle();
    expect(f.calls).toEqual(['start', 'stop']);
    expect(f.recorder.state).toBe('ready');
  });
});
