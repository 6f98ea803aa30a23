/**
 * The recording as the API answers it, and what every room of the recordings service shares about its states.
 *
 *   recording ──stop──▶ uploading ──complete──▶ ready
 *        │                  │
 *        └──────fail────────┴──▶ failed        (complete also works from recording)
 */
import type { RecordingRow, RecordingStatus } from '../db/schema.js';

/** The recording resource is the contract's (docs/API.md "4. The recording resource"): toResource is checked against it. */
import type { Recording } from '@sortie/contract';
export type { Recording };

/** The states a recording takes parts in, and from which it can still be completed or failed. */
export const OPEN: RecordingStatus[] = ['recording', 'uploading'];

/** Seconds a client is told to wait before sending a part again to a full disk. */
export const DISK_FULL_RETRY_SECONDS = 30;

export function toResource(r: RecordingRow): Recording {
  return {
    id: r.id,
    sessionId: r.sessionId,
    userId: r.userId,
    userName: r.userName,
    status: r.status,
    mimeType: r.mimeType,
    sizeBytes: r.sizeBytes,
    durationMs: r.durationMs,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
    failureReason: r.failureReason,
    endedBy: r.endedBy ?? null,
    posterOffsetMs: r.posterOffsetMs ?? null,
    hold: r.heldAt ? { reason: r.holdReason ?? '', heldAt: r.heldAt.toISOString(), heldBy: r.heldBy ?? '' } : null,
  };
}

/** The answer to any delete of a held recording: 409, and the bytes and the row stay as they are. */
export const ON_HOLD_MESSAGE = 'The recording is on legal hold; release the hold before deleting it.';

/** A download file name: the session and the start time, safe in a header. */
export function downloadFilename(r: Pick<RecordingRow, 'sessionId' | 'createdAt' | 'storageKey'>): string {
  const ext = r.storageKey.endsWith('.mp4') ? 'mp4' : 'webm';
  const session = r.sessionId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'session';
  const when = r.createdAt.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  return `recording-${session}-${when}.${ext}`;
}
