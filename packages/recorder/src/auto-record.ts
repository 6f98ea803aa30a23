/**
 * Auto-record (docs/API.md "Auto-record"): start a recorder when the session is running and
 * the administrator turned `autoRecord` on. A manual stop is respected: once
 * the user stops, auto-record does not start again until the session leaves
 * the running state and enters it anew.
 */
import type { Recorder } from './recorder.js';
import { isCapturing } from './state.js';

/** Anything the host app calls its session state; only `'running'` matters here. */
export type SessionState = string;

/** A session whose state can be watched: `subscribe` calls back on each change and returns an unsubscribe. */
export interface SessionSource {
  readonly state: SessionState;
  subscribe?(listener: (state: SessionState) => void): () => void;
}

export interface AutoRecordOptions {
  /** The state that means "running". Default 'running'. */
  runningState?: SessionState;
  /** Stop the recording when the session leaves the running state. Default true. */
  stopWhenSessionEnds?: boolean;
  /** Told of errors (config fetch, start); the recorder also emits 'error'. */
  onError?: (err: unknown) => void;
}

export interface AutoRecord {
  /** Tell auto-record the session's new state (when the session has no `subscribe`). */
  update(state: SessionState): void;
  /** Stop watching; a running recording is left alone. */
  dispose(): void;
}

/**
 * Watches `session` and starts `recorder` when the session is running and the
 * service's `autoRecord` setting is on (read from /api/recordings/config each
 * time the session starts running, so a change in the admin panel takes
 * effect at the next session without a reload).
 */
export function autoRecord(
  recorder: Recorder,
  session: SessionSource | SessionState,
  options: AutoRecordOptions = {},
): AutoRecord {
  const running = options.runningState ?? 'running';
  const stopWhenSessionEnds = options.stopWhenSessionEnds ?? true;
  let state: SessionState = typeof session === 'string' ? session : session.state;
  let startedThisRun = false;
  let disposed = false;
  let generation = 0;

  const report = (err: unknown) => options.onError?.(err);

  async function onRunning(gen: number): Promise<void> {
    try {
      // Fresh: the administrator may have switched autoRecord since the last session.
      const config = await recorder.getConfig({ fresh: true });
      // The session may have moved on while the config was on its way.
      if (disposed || gen !== generation || state !== running || !config.autoRecord) return;
      if (recorder.state !== 'idle' && recorder.state !== 'ready' && recorder.state !== 'failed') return;
      startedThisRun = true;
      await recorder.start();
      // The session may have ended while start() was on its way; update() could not stop a recorder still 'starting'.
      if (gen !== generation) {
        if (state === running && !disposed) startedThisRun = true;
        else if (stopWhenSessionEnds && isCapturing(recorder.state)) await recorder.stop();
      }
    } catch (err) {
      report(err);
    }
  }

  function update(next: SessionState): void {
    if (disposed) return;
    const was = state;
    state = next;
    if (next === running && was !== running) {
      generation++;
      startedThisRun = false;
      void onRunning(generation);
    } else if (next !== running && was === running) {
      generation++;
      if (stopWhenSessionEnds && startedThisRun && isCapturing(recorder.state)) recorder.stop().catch(report);
      startedThisRun = false;
    }
  }

  const unsubscribe = typeof session === 'string' ? undefined : session.subscribe?.(update);
  if (state === running) {
    generation++;
    void onRunning(generation);
  }

  return {
    update,
    dispose() {
      disposed = true;
      unsubscribe?.();
    },
  };
}
