/**
 * The recorder's states (docs/API.md "6. The SDK's surface") and the moves between them, in one
 * table so the recorder cannot drift into a state the docs do not describe.
 *
 *   idle ─start─▶ starting ─▶ recording ⇄ paused
 *                                 │         │
 *                                 └─stop────┴─▶ stopping ─▶ uploading ─▶ ready
 *   any ─(error)─▶ failed          any ─abort─▶ idle          ready/failed ─start─▶ starting
 */

export type RecorderState =
  'idle' | 'starting' | 'recording' | 'paused' | 'stopping' | 'uploading' | 'ready' | 'failed';

export const TRANSITIONS: Readonly<Record<RecorderState, readonly RecorderState[]>> = {
  idle: ['starting'],
  starting: ['recording', 'failed', 'idle'],
  recording: ['paused', 'stopping', 'failed', 'idle'],
  paused: ['recording', 'stopping', 'failed', 'idle'],
  stopping: ['uploading', 'failed', 'idle'],
  uploading: ['ready', 'failed', 'idle'],
  ready: ['starting'],
  failed: ['starting', 'idle'],
};

/**
 * Beside the state, not in it: whether part uploads reach their server ('ok') or keep failing before
 * they do ('stalled', network or CORS; retried meanwhile). It is not a state of the table above because
 * capture runs on while uploads stall: 'recording' and 'paused' keep saying what stop() and pause() may
 * do, and 'uploading' what stop() is waiting for.
 */
export type UploadState = 'ok' | 'stalled';

export function canTransition(from: RecorderState, to: RecorderState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** States in which capture is running (a stop() makes sense). */
export function isCapturing(state: RecorderState): boolean {
  return state === 'recording' || state === 'paused';
}

/** States from which start() may begin a new recording. */
export function canStart(state: RecorderState): boolean {
  return state === 'idle' || state === 'ready' || state === 'failed';
}
