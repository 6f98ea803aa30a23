/**
 * What the recorder does when its page goes away (docs/bounded-loss.md,
 * README "What is at risk"). Pure decisions, so they are unit-tested; the
 * recorder (recorder.ts) wires them to `pagehide` and `visibilitychange`.
 *
 * - `pagehide` with `persisted` false: the document is being destroyed (tab
 *   closed, navigated away, reloaded). The recording is over: what is
 *   buffered is closed as a part (best effort), and the service is told
 *   with `navigator.sendBeacon(endUrl)`; it finalizes what it holds within
 *   seconds. Part PUTs of 64 KiB or less already go with `keepalive`
 *   (uploader.ts), so one in flight still lands.
 * - `pagehide` with `persisted` true: the page goes into the back/forward
 *   cache and may come back with its recorder running. Ending the recording
 *   then would cut it short for nothing, so the buffered bytes are sent but
 *   the recording is not ended; if the page is evicted instead of restored,
 *   the service's abandon window ends it. (Chromium keeps no page with a live
 *   MediaRecorder or capture in that cache, so this case is rare.)
 * - `visibilitychange` to hidden is not an end (the user switched tabs), but
 *   a hidden tab is the one a mobile browser kills without a pagehide: the
 *   buffered bytes are sent at once.
 */
import type { RecorderState } from './state.js';

export type PageExitAction =
  /** Nothing of this recording is held or open on the service. */
  | 'none'
  /** Send what is buffered now; the recording goes on. */
  | 'flush'
  /** Send what can be sent, and tell the service the recording is over (beacon). */
  | 'end';

/** States in which the service holds a recording that is not finished yet. */
function isOpen(state: RecorderState): boolean {
  return (
    state === 'starting' || state === 'recording' || state === 'paused' || state === 'stopping' || state === 'uploading'
  );
}

/** On `pagehide`: `persisted` is PageTransitionEvent.persisted (going into the back/forward cache). */
export function pageHideAction(persisted: boolean, state: RecorderState, hasEndUrl: boolean): PageExitAction {
  if (!isOpen(state)) return 'none';
  if (persisted) return state === 'recording' || state === 'paused' ? 'flush' : 'none';
  // stopping/uploading too: complete may never be sent now, and a beacon after a complete changes nothing.
  return hasEndUrl ? 'end' : state === 'recording' || state === 'paused' ? 'flush' : 'none';
}

/** On `visibilitychange`: `hidden` is document.visibilityState === 'hidden'. */
export function visibilityAction(hidden: boolean, state: RecorderState): PageExitAction {
  return hidden && (state === 'recording' || state === 'paused') ? 'flush' : 'none';
}

/**
 * Tells the service the recording is over: sendBeacon (made for this: it
 * outlives the page, carries no Authorization, which the end URL does not
 * need), else a keepalive fetch when the beacon queue refuses it.
 */
export function sendEndBeacon(endUrl: string): boolean {
  try {
    if (typeof navigator !== 'undefined' && typeof navigator.sendBeacon === 'function' && navigator.sendBeacon(endUrl))
      return true;
  } catch {
    // An invalid URL or a refused beacon: try fetch.
  }
  try {
    void fetch(endUrl, { method: 'POST', keepalive: true }).catch(() => {});
    return true;
  } catch {
    return false;
  }
}
