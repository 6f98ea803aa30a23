/**
 * @sortie/recorder/admin — a typed client for the administrator's routes
 * (docs/API.md "Admin routes"), for the admin panel and for scripts. Same
 * token handling, errors and retries as the recorder (api.ts). The wire types
 * are the contract's (@sortie/contract), inlined into this package's .d.ts.
 */
import type {
  AdminListQuery,
  AdminOverview,
  AdminSettings,
  AdminSettingsUpdate,
  AuditEntry,
  AuditQuery,
  AuditVerification,
  BulkDeleteBody,
  BulkDeleteResult,
  HoldBody,
  RecordingPage,
  RetentionResult,
} from '@sortie/contract';
import { ApiClient } from './api.js';
import type { RetryOptions } from './retry.js';
import type { DownloadUrl, Page, Recording, RecordingConfig, TokenSource } from './types.js';

export { RecorderError, type RecorderErrorCode } from './errors.js';
export type {
  DownloadUrl,
  ListQuery,
  Page,
  Recording,
  RecordingConfig,
  RecordingStatus,
  TokenSource,
} from './types.js';
export type {
  AdminListQuery,
  AdminOverview,
  AdminSettings,
  BulkDeleteBody,
  BulkDeleteResult,
  HoldBody,
  ListSort,
  RecordingHold,
  RecordingPage,
  AdminSettingsUpdate,
  AuditAction,
  AuditEntry,
  AuditQuery,
  AuditVerification,
  RetentionResult,
} from '@sortie/contract';

export interface AdminClientOptions {
  /** Origin of the service. Default: the page's origin. */
  baseUrl?: string;
  /** An admin's bearer token (role admin), or a function giving it; called again after a 401. */
  getToken: TokenSource;
  /** Retry policy for transient failures. Default: 8 attempts with backoff and jitter. */
  retry?: RetryOptions;
  fetch?: typeof fetch;
}

export interface AdminClient {
  /** GET /api/recordings/config (throws RecorderError 'disabled' when recording is off). */
  config(signal?: AbortSignal): Promise<RecordingConfig>;
  /** GET /api/admin/recordings: every user's recordings, newest first unless `sort`/`order` say otherwise. */
  listRecordings(query?: AdminListQuery, signal?: AbortSignal): Promise<RecordingPage>;
  /** GET /api/recordings/:id */
  getRecording(id: string, signal?: AbortSignal): Promise<Recording>;
  /** POST /api/recordings/:id/download-url: a header-less URL for <a href> and <video src>. */
  downloadUrl(id: string, signal?: AbortSignal): Promise<DownloadUrl>;
  /** DELETE /api/recordings/:id */
  deleteRecording(id: string, signal?: AbortSignal): Promise<void>;
  /** POST /api/admin/recordings/delete: 1–200 recordings at once, a result per id (extension). */
  deleteRecordings(ids: string[], signal?: AbortSignal): Promise<BulkDeleteResult>;
  /** PUT /api/admin/recordings/:id/hold: place (with its reason) or release a legal hold (extension). */
  setHold(id: string, hold: HoldBody, signal?: AbortSignal): Promise<Recording>;
  /** GET /api/admin/overview: the overview charts' figures for the last `days` UTC days (extension). */
  overview(days?: number, signal?: AbortSignal): Promise<AdminOverview>;
  /** GET /api/admin/settings */
  getSettings(signal?: AbortSignal): Promise<AdminSettings>;
  /** PUT /api/admin/settings: takes effect without a restart. */
  updateSettings(settings: AdminSettingsUpdate, signal?: AbortSignal): Promise<AdminSettings>;
  /** POST /api/admin/retention/run */
  runRetention(signal?: AbortSignal): Promise<RetentionResult>;
  /** GET /api/admin/audit: the audit trail, newest first. */
  listAudit(query?: AuditQuery, signal?: AbortSignal): Promise<Page<AuditEntry>>;
  /** GET /api/admin/audit/verify: the trail's hash chain walked from its first entry (extension). */
  verifyAudit(signal?: AbortSignal): Promise<AuditVerification>;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const api = new ApiClient(options);
  return {
    config: (signal) => api.config(signal),
    listRecordings: (query = {}, signal) =>
      api.request('GET', '/api/admin/recordings', { query: { ...query }, signal }),
    getRecording: (id, signal) => api.getRecording(id, signal),
    downloadUrl: (id, signal) => api.downloadUrl(id, signal),
    deleteRecording: (id, signal) => api.deleteRecording(id, signal),
    // Not retried: a bulk delete that timed out may have done part of its work; list again to see what is left.
    deleteRecordings: (ids, signal) =>
      api.request('POST', '/api/admin/recordings/delete', {
        body: { ids } satisfies BulkDeleteBody,
        signal,
        retry: false,
      }),
    // A PUT that sets the hold to what the body says: sending it again does the same.
    setHold: (id, hold, signal) =>
      api.request('PUT', `/api/admin/recordings/${encodeURIComponent(id)}/hold`, {
        body: hold satisfies HoldBody,
        signal,
      }),
    overview: (days, signal) =>
      api.request('GET', '/api/admin/overview', { query: days === undefined ? {} : { days }, signal }),
    getSettings: (signal) => api.request('GET', '/api/admin/settings', { signal }),
    updateSettings: (settings, signal) =>
      api.request('PUT', '/api/admin/settings', {
        body: { autoRecord: settings.autoRecord } satisfies AdminSettingsUpdate,
        signal,
      }),
    // Not retried: a retention run that timed out may have done its work; the caller decides.
    runRetention: (signal) => api.request('POST', '/api/admin/retention/run', { signal, retry: false }),
    listAudit: (query = {}, signal) => api.request('GET', '/api/admin/audit', { query: { ...query }, signal }),
    verifyAudit: (signal) => api.request('GET', '/api/admin/audit/verify', { signal }),
  };
}
