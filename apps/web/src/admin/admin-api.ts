/**
 * What the admin panel asks of the service, through the SDK's admin client:
 * the admin routes, plus the owner-or-admin routes for playing, downloading
 * and deleting any recording.
 */
import {
  createAdminClient,
  RecorderError,
  type AdminOverview,
  type AdminSettings,
  type AuditAction,
  type AuditEntry,
  type AuditQuery,
  type AuditVerification,
  type BulkDeleteResult,
  type HoldBody,
  type ListSort,
  type Page,
  type Recording,
  type RecordingPage,
} from '@sortie/recorder/admin';
import type { RecordingConfig, RecordingStatus } from '../shared/api.js';

export type {
  AdminOverview,
  AdminSettings,
  AuditAction,
  AuditEntry,
  AuditQuery,
  AuditVerification,
  BulkDeleteResult,
  ListSort,
  RecordingPage,
};

export interface AdminQuery {
  userId?: string | undefined;
  sessionId?: string | undefined;
  /** A prefix of the user's id or name, any case. */
  user?: string | undefined;
  /** A prefix of the session id, any case. */
  session?: string | undefined;
  status?: RecordingStatus | undefined;
  /** Only the recordings on legal hold ('true') or only those not held ('false'). */
  held?: 'true' | 'false' | undefined;
  /** Text in a marker's label. */
  marker?: string | undefined;
  /** ISO 8601 instants: createdAt ≥ from, < to; with range=overlap, any moment of the recording in [from, to). */
  from?: string | undefined;
  to?: string | undefined;
  range?: 'created' | 'overlap' | undefined;
  /** Only the recordings changed at or after this instant: the live list's poll. */
  updatedSince?: string | undefined;
  sort?: ListSort | undefined;
  order?: 'asc' | 'desc' | undefined;
  limit?: number;
  cursor?: string;
  /** Ask for the (capped) count too. */
  count?: boolean;
}

export interface AdminApi {
  listRecordings(q: AdminQuery): Promise<RecordingPage>;
  getSettings(): Promise<AdminSettings>;
  updateSettings(patch: { autoRecord: boolean }): Promise<AdminSettings>;
  runRetention(): Promise<{ deleted: number }>;
  config(): Promise<RecordingConfig>;
  downloadUrl(id: string): Promise<{ url: string; expiresAt: string }>;
  remove(id: string): Promise<void>;
  removeMany(ids: string[]): Promise<BulkDeleteResult>;
  overview(days: number): Promise<AdminOverview>;
  setHold(id: string, hold: HoldBody): Promise<Recording>;
  listAudit(q: AuditQuery): Promise<Page<AuditEntry>>;
  verifyAudit(): Promise<AuditVerification>;
  /** The chained entries written in [from, to) as JSON Lines (either bound may be left out). */
  exportAudit(range: { from?: string; to?: string }): Promise<Blob>;
}

export function adminApi(getToken: () => Promise<string>): AdminApi {
  // Single attempts: the panel shows the error and a "Try again" instead of spinning through retries.
  const client = createAdminClient({ getToken, retry: { attempts: 1 } });
  return {
    listRecordings: (q) => {
      const query: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '' && v !== false) query[k] = v;
      return client.listRecordings(query);
    },
    getSettings: () => client.getSettings(),
    updateSettings: (patch) => client.updateSettings(patch),
    runRetention: () => client.runRetention(),
    config: () => client.config(),
    downloadUrl: (id) => client.downloadUrl(id),
    remove: (id) => client.deleteRecording(id),
    removeMany: (ids) => client.deleteRecordings(ids),
    overview: (days) => client.overview(days),
    setHold: (id, hold) => client.setHold(id, hold),
    listAudit: (q) => client.listAudit(q),
    verifyAudit: () => client.verifyAudit(),
    exportAudit: (range) => exportAudit(getToken, range),
  };
}

/**
 * The export is a streamed file, not JSON, so it is read with a plain fetch carrying the token: a bare link
 * could not send the Authorization header.
 */
async function exportAudit(getToken: () => Promise<string>, range: { from?: string; to?: string }): Promise<Blob> {
  const q = new URLSearchParams();
  if (range.from) q.set('from', range.from);
  if (range.to) q.set('to', range.to);
  const res = await fetch(`/api/admin/audit/export${q.size ? `?${q}` : ''}`, {
    headers: { Authorization: `Bearer ${await getToken()}` },
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new RecorderError('http', body?.error?.message ?? `The service answered ${res.status}.`, {
      status: res.status,
    });
  }
  return res.blob();
}
