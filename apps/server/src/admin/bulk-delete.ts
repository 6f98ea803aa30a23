/**
 * Deleting many recordings at once (POST /api/admin/recordings/delete): each id
 * is deleted as DELETE /api/recordings/:id would (storage first, then the row),
 * audited the same way, and answered with its own result, so one failure
 * neither hides nor undoes the others.
 */
import type { BulkDeleteResult } from '@sortie/contract';
import type { AuditService } from '../audit/service.js';
import type { Identity } from '../auth/identity.js';
import { DomainError } from '../errors.js';
import type { RecordingsService } from '../recordings/service.js';

/** Deletes at once: storage calls overlap (S3 round trips), without flooding the backend or the pool. */
const CONCURRENCY = 8;

type Result = BulkDeleteResult['results'][number];

export async function bulkDelete(
  deps: { recordings: RecordingsService; audit: AuditService },
  actor: Identity,
  ids: string[],
): Promise<BulkDeleteResult> {
  const results: Result[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      results[i] = await deleteOne(deps, actor, ids[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
  return { deleted: results.filter((r) => r.status === 'deleted').length, results };
}

async function deleteOne(
  { recordings, audit }: { recordings: RecordingsService; audit: AuditService },
  actor: Identity,
  id: string,
): Promise<Result> {
  const row = await recordings.rowById(id);
  if (!row) return { id, status: 'not_found', message: 'No such recording (it may have been deleted already).' };
  let removed: boolean;
  try {
    removed = await recordings.lifecycle.deleteRow(row);
  } catch (err) {
    // The row stays when storage refuses (deleteRow removes the bytes first): the admin can try again.
    const message = err instanceof DomainError ? err.message : 'Storage refused the delete; the recording is kept.';
    return { id, status: 'failed', message };
  }
  // Another delete (a concurrent bulk delete, a DELETE, retention) removed the row first: it reports and audits it.
  if (!removed) return { id, status: 'not_found', message: 'No such recording (it may have been deleted already).' };
  // As DELETE /api/recordings/:id: an admin deleting someone else's recording is audited.
  if (row.userId !== actor.id) {
    await audit.record({
      actor,
      action: 'recording.delete',
      recordingId: row.id,
      details: { userId: row.userId, sessionId: row.sessionId, bulk: true },
    });
  }
  return { id, status: 'deleted' };
}
