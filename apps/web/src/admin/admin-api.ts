/**
 * What the admin panel asks of the service, through the SDK's admin client:
 * the admin routes, plus the owner-or-admin routes for playing, downloading
 * and deleting any recording.
 */
import { createAdminClient, type AdminSettings } from '@sortie/recorder/admin';
import type { RecordingConfig, RecordingStatus, RecordingsPage } from '../shared/api.js';

export type { AdminSettings };

export interface AdminQuery {
  userId?: string | undefined;
  sessionId?: string | undefined;
  status?: RecordingStatus | undefined;
  limit?: number;
  cursor?: string;
}

export interface AdminApi {
  listRecordings(q: AdminQuery): Promise<RecordingsPage>;
  getSettings(): Promise<AdminSettings>;
  updateSettings(patch: { autoRecord: boolean }): Promise<AdminSettings>;
  runRetention(): Promise<{ deleted: number }>;
  config(): Promise<RecordingConfig>;
  downloadUrl(id: string): Promise<{ url: string }>;
  remove(id: string): Promise<void>;
}

export function adminApi(getToken: () => Promise<string>): AdminApi {
  // Single attempts: the panel shows the error and a "Try again" instead of spinning through retries.
  const client = createAdminClient({ getToken, retry: { attempts: 1 } });
  return {
    listRecordings: (q) => {
      const query: Record<string, string | number> = {};
      for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') query[k] = v;
      return client.listRecordings(query);
    },
    getSettings: () => client.getSettings(),
    updateSettings: (patch) => client.updateSettings(patch),
    runRetention: () => client.runRetention(),
    config: () => client.config(),
    downloadUrl: (id) => client.downloadUrl(id),
    remove: (id) => client.deleteRecording(id),
  };
}
