/** Wire types of the Sortie Recording API (API.md §4, §5). */

export type RecordingStatus = 'recording' | 'uploading' | 'ready' | 'failed';

/** The recording resource (API.md §4). */
export interface Recording {
  id: string;
  sessionId: string;
  userId: string;
  userName: string | null;
  status: RecordingStatus;
  mimeType: string;
  sizeBytes: number;
  durationMs: number | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  failureReason: string | null;
}

/** GET /api/recordings/config */
export interface RecordingConfig {
  enabled: boolean;
  autoRecord: boolean;
  maxSizeBytes: number;
  backend: 'local' | 's3';
  minPartSizeBytes: number;
  maxParts: number;
}

/** POST /api/recordings/:id/parts → where to PUT the part's bytes. */
export interface PartTarget {
  partNumber: number;
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expiresAt: string;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListQuery {
  sessionId?: string;
  status?: RecordingStatus;
  /** 1–200, default 50 on the service. */
  limit?: number;
  cursor?: string;
}

/** POST /api/recordings/:id/download-url */
export interface DownloadUrl {
  url: string;
  expiresAt: string;
}

/** A bearer token, or a function that gives one (called again after a 401). */
export type TokenSource = string | (() => string | Promise<string>);
