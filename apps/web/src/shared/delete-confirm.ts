/**
 * The words of the delete confirmations: what goes, by name, and a warning
 * when a recording is still in progress, since deleting it also stops it and
 * the person at the session sees their recording end.
 */
import type { Recording } from './api.js';
import { confirmDialog } from './dialogs.js';
import { formatBytes, formatDate, formatDuration } from './format.js';

/** How many recordings a bulk confirmation names before "and n more". */
const LISTED = 10;

export const LIVE_WARNING = 'This recording is still in progress: deleting it stops it and discards what was recorded.';

export const isLive = (rec: Recording) => rec.status === 'recording' || rec.status === 'uploading';

/** One line naming a recording: its session, whose it is, and when it was made. */
export function recordingLabel(rec: Recording): string {
  const live = isLive(rec) ? ' (in progress)' : '';
  return `Session ${rec.sessionId} — ${rec.userName ?? rec.userId}, ${formatDate(rec.createdAt)}${live}`;
}

/** The first ten labels, then "and n more"; ids not in `known` (not shown any more) are counted, not named. */
export function listedLabels(ids: string[], known: Recording[]): string[] {
  const byId = new Map(known.map((r) => [r.id, r]));
  const labels = ids.map((id) => byId.get(id)).map((r, i) => (r ? recordingLabel(r) : `Recording ${ids[i]}`));
  if (labels.length <= LISTED) return labels;
  return [...labels.slice(0, LISTED), `and ${(labels.length - LISTED).toLocaleString()} more`];
}

export function confirmDeleteOne(rec: Recording): Promise<boolean> {
  return confirmDialog({
    title: 'Delete this recording?',
    warning: isLive(rec) ? LIVE_WARNING : undefined,
    body: `The recording of session ${rec.sessionId} (${formatDuration(rec.durationMs)}, ${formatBytes(rec.sizeBytes)}) will be removed from storage. This cannot be undone.`,
    confirm: 'Delete recording',
    danger: true,
  });
}

export function confirmDeleteMany(ids: string[], known: Recording[], count: (n: number) => string): Promise<boolean> {
  const n = ids.length;
  const live = known.filter((r) => ids.includes(r.id) && isLive(r)).length;
  return confirmDialog({
    title: `Delete ${count(n)}?`,
    warning: live
      ? `${live === 1 ? '1 of them is' : `${live.toLocaleString()} of them are`} still in progress: deleting stops ${live === 1 ? 'it' : 'them'} and discards what was recorded.`
      : undefined,
    body: `${n === 1 ? 'This recording is' : `These ${count(n)} are`} removed from storage with ${n === 1 ? 'its file' : 'their files'}. This cannot be undone.`,
    items: listedLabels(ids, known),
    confirm: `Delete ${count(n)}`,
    danger: true,
  });
}
