/** @sortie/recorder — public exports only (docs/API.md "6. The SDK's surface"). */
import * as webm from '@sortie/webm';
export { createRecorder, isSupported, pickMimeType, DEFAULT_MIME_TYPES } from './recorder.js';
export type { Recorder, RecorderOptions, RecorderEvents, RecorderProgress } from './recorder.js';
export type { RecorderState, UploadState } from './state.js';
export type { PointerInput } from './compositor/pointer.js';
export { RecorderError, isRecorderError, type RecorderErrorCode } from './errors.js';
export {
  autoRecord,
  type AutoRecord,
  type AutoRecordOptions,
  type SessionSource,
  type SessionState,
} from './auto-record.js';
export { ApiClient, type ApiOptions } from './api.js';
export type { RetryOptions } from './retry.js';
export type {
  CompletedPart,
  DownloadUrl,
  ListQuery,
  Page,
  PartTarget,
  Recording,
  RecordingConfig,
  RecordingStatus,
  TokenSource,
} from './types.js';

// Written out rather than re-exported: tsup's d.ts bundler follows @sortie/webm's index but not
// its re-exports of its own files (the declarations pointed at a './duration.js' dist lacks).
/**
 * Returns a copy of the head of a WebM file (MediaRecorder's output) with
 * Info's Duration set to `durationMs`, or null when the bytes are not a WebM
 * head it understands. The result may be longer than `buf` (by 11 bytes when
 * the Duration is added).
 */
export function setWebmDuration(buf: Uint8Array, durationMs: number): Uint8Array | null {
  return webm.setWebmDuration(buf, durationMs);
}

/** The Duration of a WebM file in ms, read from its head; null when it has none or the bytes are not WebM. */
export function readWebmDuration(buf: Uint8Array): number | null {
  return webm.readWebmDuration(buf);
}
