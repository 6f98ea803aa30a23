/**
 * The table of recordings, shared by "My recordings" and the admin
 * Recordings tab: columns, status pills, and the play / download / delete
 * actions with their confirmation.
 */
import type { Recording } from './api.js';
import { confirmDialog, playerDialog, startDownload } from './dialogs.js';
import { h } from './dom.js';
import { formatBytes, formatDate, formatDuration, shortId } from './format.js';
import { toast } from './layout.js';

export interface RecordingActions {
  downloadUrl(id: string): Promise<{ url: string }>;
  remove(id: string): Promise<void>;
}

export interface TableOptions {
  /** Admin view: the ID and the user columns. */
  admin: boolean;
  actions: RecordingActions;
  /** Called after a delete, so the owner of the table reloads it. */
  onChanged(): void;
}

const STATUS_LABEL: Record<Recording['status'], string> = {
  recording: 'Recording',
  uploading: 'Uploading',
  ready: 'Ready',
  failed: 'Failed',
};

/**
 * How the recording ended (Recording.endedBy; docs/bounded-loss.md): stopped
 * in the page, ended by the page's beacon when its tab closed, finalized by
 * the sweeper after the abandon window, or failed. Empty while it is open.
 */
const ENDED_BY_LABEL: Record<NonNullable<Recording['endedBy']>, { label: string; title: string }> = {
  stop: { label: 'Stopped', title: 'Stopped in the page: everything recorded was uploaded.' },
  beacon: {
    label: 'Tab closed',
    title: 'The tab closed or navigated away: what had reached the service was kept (the last ~2 s may be missing).',
  },
  abandoned: {
    label: 'Abandoned',
    title:
      'The browser stopped answering (crash, killed, network lost): finalized after the abandon window with what had reached the service.',
  },
  size_limit: {
    label: 'Size limit',
    title: 'Reached the size limit: capture stopped by itself and what fitted was kept.',
  },
  failed: { label: 'Failed', title: 'Failed by the client, or nothing usable was stored.' },
};

function endedByCell(endedBy: Recording['endedBy']): string | HTMLElement {
  if (!endedBy) return '';
  const e = ENDED_BY_LABEL[endedBy];
  return e ? h('span', { title: e.title }, e.label) : endedBy;
}

export function statusPill(status: Recording['status'], title?: string | null): HTMLElement {
  return h('span', { class: `pill pill-${status}`, title: title ?? null }, STATUS_LABEL[status] ?? status);
}

function fileName(rec: Recording): string {
  const ext = rec.mimeType.startsWith('video/mp4') ? 'mp4' : 'webm';
  return `recording-${rec.sessionId}-${shortId(rec.id)}.${ext}`;
}

export function recordingsTable(items: Recording[], opts: TableOptions): HTMLElement {
  const head = h(
    'tr',
    {},
    opts.admin ? h('th', { scope: 'col' }, 'ID') : null,
    h('th', { scope: 'col' }, 'Session'),
    opts.admin ? h('th', { scope: 'col' }, 'User') : null,
    h('th', { scope: 'col' }, 'Created'),
    h('th', { scope: 'col', class: 'num' }, 'Duration'),
    h('th', { scope: 'col', class: 'num' }, 'Size'),
    h('th', { scope: 'col' }, 'Status'),
    opts.admin ? h('th', { scope: 'col' }, 'Ended by') : null,
    h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')),
  );
  const body = h('tbody', {}, ...items.map((rec) => row(rec, opts)));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'recordings' }, h('thead', {}, head), body));
}

function row(rec: Recording, opts: TableOptions): HTMLTableRowElement {
  const ready = rec.status === 'ready';
  const play = async () => {
    try {
      const { url } = await opts.actions.downloadUrl(rec.id);
      playerDialog(rec, url, () => void download());
    } catch (err) {
      toast(`Could not open the recording: ${(err as Error).message}`, 'error');
    }
  };
  const download = async () => {
    try {
      const { url } = await opts.actions.downloadUrl(rec.id);
      startDownload(url, fileName(rec));
    } catch (err) {
      toast(`Could not download the recording: ${(err as Error).message}`, 'error');
    }
  };
  const remove = async () => {
    const ok = await confirmDialog({
      title: 'Delete this recording?',
      body: `The recording of session ${rec.sessionId} (${formatDuration(rec.durationMs)}, ${formatBytes(rec.sizeBytes)}) will be removed from storage. This cannot be undone.`,
      confirm: 'Delete recording',
      danger: true,
    });
    if (!ok) return;
    try {
      await opts.actions.remove(rec.id);
      toast('Recording deleted.');
    } catch (err) {
      toast(`Could not delete the recording: ${(err as Error).message}`, 'error');
    }
    opts.onChanged();
  };
  return h(
    'tr',
    { 'data-recording-id': rec.id, 'data-status': rec.status },
    opts.admin ? h('td', { class: 'mono', title: rec.id }, shortId(rec.id)) : null,
    h('td', { class: 'mono' }, rec.sessionId),
    opts.admin
      ? h('td', {}, rec.userName ?? rec.userId, rec.userName ? h('div', { class: 'muted small' }, rec.userId) : null)
      : null,
    h('td', {}, formatDate(rec.createdAt)),
    h('td', { class: 'num', 'data-col': 'duration' }, formatDuration(rec.durationMs)),
    h('td', { class: 'num', 'data-col': 'size' }, formatBytes(rec.sizeBytes)),
    h('td', { 'data-col': 'status' }, statusPill(rec.status, rec.failureReason)),
    opts.admin
      ? h('td', { 'data-col': 'ended-by', 'data-ended-by': rec.endedBy ?? '' }, endedByCell(rec.endedBy))
      : null,
    h(
      'td',
      { class: 'actions' },
      h(
        'button',
        {
          class: 'btn btn-small',
          type: 'button',
          disabled: !ready,
          title: ready ? null : 'Available once the recording is ready',
          onclick: play,
        },
        'Play',
      ),
      h('button', { class: 'btn btn-small', type: 'button', disabled: !ready, onclick: download }, 'Download'),
      h('button', { class: 'btn btn-small btn-danger-ghost', type: 'button', onclick: remove }, 'Delete'),
    ),
  );
}
