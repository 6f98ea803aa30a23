/**
 * @sortie/recorder/admin — a typed client for the administrator's routes
 * (API.md §5), for the admin panel and for scripts. Same token handling,
 * errors and retries as the recorder (api.ts).
 */
import { ApiClient } from './api.js';
import type { RetryOptions } from './retry.js';
import type { DownloadUrl, ListQuery, Page, Recording, RecordingConfig, TokenSource } from './types.js';

export { RecorderError, type RecorderErrorCode } from './errors.js';
export type { DownloadUrl, ListQuery, Page, Recording, RecordingConfig, RecordingStatus, TokenSource } from './types.js';

export interface AdminClientOptions {
  /** Origin of the service. Default: the page's origin. */
  baseUrl?: string;
  /** An admin's bearer token (role admin), or a function giving it; called again after a 401. */
  getToken: TokenSource;
  /** Retry policy for transient failures. Default: 8 attempts with backoff and jitter. */
  retry?: RetryOptions;
  fetch?: typeof fetch;
}

/** GET/PUT /api/admin/settings */
export interface AdminSettings {
  autoRecord: boolean;
  updatedAt: string | null;
  /** The user id of the admin who last changed them. */
  updatedBy: string | null;
  /** SORTIE_RECORDING_RETENTION_DAYS, read-only here (0 keeps recordings forever). */
  retentionDays: number;
}

export interface AdminListQuery extends ListQuery {
  userId?: string;
}

export type AuditAction =
  | 'recording.delete'
  | 'recording.download'
  | 'recording.download_url'
  | 'settings.update'
  | 'retention.delete'
  | 'sweeper.finalize'
  | 'sweeper.fail';

export interface AuditEntry {
  id: string;
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: AuditAction;
  recordingId: string | null;
  details: Record<string, unknown>;
}

export interface AuditQuery {
  action?: AuditAction;
  recordingId?: string;
  actorId?: string;
  limit?: number;
  cursor?: string;
}

export interface RetentionResult {
  deleted: number;
  /** Present when another replica was running retention at that moment. */
  skipped?: boolean;
}

export interface AdminClient {
  /** GET /api/recordings/config (throws RecorderError 'disabled' when recording is off). */
  config(signal?: AbortSignal): Promise<RecordingConfig>;
  /** GET /api/admin/recordings: every user's recordings, newest first. */
  listRecordings(query?: AdminListQuery, signal?: AbortSignal): Promise<Page<Recording>>;
  /** GET /api/recordings/:id */
  getRecording(id: string, signal?: AbortSignal): Promise<Recording>;
  /** POST /api/recordings/:id/download-url: a header-less URL for <a href> and <video src>. */
  downloadUrl(id: string, signal?: AbortSignal): Promise<DownloadUrl>;
  /** DELETE /api/recordings/:id */
  deleteRecording(id: string, signal?: AbortSignal): Promise<void>;
  /** GET /api/admin/settings */
  getSettings(signal?: AbortSignal): Promise<AdminSettings>;
  /** PUT /api/admin/settings: takes effect without a restart. */
  updateSettings(settings: { autoRecord: boolean }, signal?: AbortSignal): Promise<AdminSettings>;
  /** POST /api/admin/retention/run */
  runRetention(signal?: AbortSignal): Promise<RetentionResult>;
  /** GET /api/admin/audit: the audit trail, newest first. */
  listAudit(query?: AuditQuery, signal?: AbortSignal): Promise<Page<AuditEntry>>;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const api = new ApiClient(options);
  return {
    config: (signal) => api.config(signal),
    listRecordings: (query = {}, signal) => api.request('GET', '/api/admin/recordings', { query: { ...query }, signal }),
    getRecording: (id, signal) => api.getRecording(id, signal),
    downloadUrl: (id, signal) => api.downloadUrl(id, signal),
    deleteRecording: (id, signal) => api.deleteRecording(id, signal),
    getSettings: (signal) => api.request('GET', '/api/admin/settings', { signal }),
    updateSettings: (settings, signal) => api.request('PUT', '/api/admin/settings', { body: { autoRecord: settings.autoRecord }, signal }),
    // Not retried: a retention run that timed out may have done its work; the caller decides.
    runRetention: (signal) => api.request('POST', '/api/admin/retention/run', { signal, retry: false }),
    listAudit: (query = {}, signal) => api.request('GET', '/api/admin/audit', { query: { ...query }, signal }),
  };
}
