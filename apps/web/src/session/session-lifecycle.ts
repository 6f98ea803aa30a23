/**
 * The demo session's state: "starting" while the desktop connects, then
 * "running". Auto-record waits for "running", as it would for a real
 * container session.
 */

export type SessionState = 'starting' | 'running';

/** How long the demo desktop takes to "connect": long enough to see the state change. */
const CONNECT_MS = 1200;

export interface SessionLifecycle {
  readonly state: SessionState;
  onChange(fn: (state: SessionState) => void): () => void;
  start(): void;
}

export function sessionLifecycle(): SessionLifecycle {
  let state: SessionState = 'starting';
  const listeners = new Set<(s: SessionState) => void>();
  return {
    get state() {
      return state;
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    start() {
      setTimeout(() => {
        state = 'running';
        for (const fn of listeners) fn(state);
      }, CONNECT_MS);
    },
  };
}
