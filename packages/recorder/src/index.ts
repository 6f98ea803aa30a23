/** @sortie/recorder — public exports only (docs/API.md "6. The SDK's surface"). */
export { createRecorder, isSupported, pickMimeType, DEFAULT_MIME_TYPES } from './recorder.js';
export type { Recorder, RecorderOptions, RecorderEvents, RecorderProgress } from './recorder.js';
export type { RecorderState } from './state.js';
export { RecorderError, isRecorderError, type RecorderErrorCode } from './errors.js';
export { autoRecord, type AutoRecord, type AutoRecordOptions, type SessionSource, type SessionState } from './auto-record.js';
export { ApiClient, type ApiOptions } from './api.js';
export type { RetryOptions } from './retry.js';
export type { CompletedPart, DownloadUrl, ListQuery, Page, PartTarget, Recording, RecordingConfig, RecordingStatus, TokenSource } from './types.js';
export { setWebmDuration, readWebmDuration } from './webm-duration.js';
