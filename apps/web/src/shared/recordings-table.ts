/**
 * The table of recordings, shared by "My recordings" and the admin
 * Recordings tab: columns, status pills, and the play / download / delete
 * actions with their confirmation.
 */
import type { Recording } from './api.js';
import { copyLink } from './copy-link.js';
import { confirmDeleteOne } from './delete-confirm.js';
import { playerDialog, startDownload } from './dialogs.js';
import { h } from './dom.js';
import { actionErrorWords, technicalMessage } from './error-words.js';
import { formatBytes, formatDate, formatDuration, formatTime, shortId, utcTime } from './format.js';
import { HELD_DELETE_TITLE, holdBadge } from './hold-badge.js';
import { playerLinkUrl } from './player-link.js';
import { posterCell } from './poster.js';
import { pageTimeline, type TimelineApi } from './timeline-api.js';
import { toast } from './layout.js';

export interface RecordingActions {
  downloadUrl(id: string): Promise<{ url: string; expiresAt?: string }>;
  remove(id: string): Promise<void>;
}

/** Rows with a checkbox each (the admin's bulk delete): the ids ticked, kept by the table's owner across pages. */
export interface TableSelection {
  selected: Set<string>;
  /** Called after a box is ticked or cleared. */
  onChange(): void;
}

export interface TableOptions {
  /** Admin view: the ID and the user columns. */
  admin: boolean;
  actions: RecordingActions;
  /** Called after a delete, so the owner of the table reloads it. */
  onChanged(): void;
  /** A checkbox per row and a tick-all in the head. */
  selection?: TableSelection;
  /** A "Copy link" action: the page's link opening the recording's player (`#play=<id>`), which never expires. */
  copyLink?: boolean;
  /** No Delete button: an auditor's view, whose deletes the service refuses anyway. */
  readOnly?: boolean;
  /** A "Hold" / "Release hold" button per row: the admin's legal hold (an auditor's view has none). */
  hold?: (rec: Recording) => void;
  /** Markers, thumbnails and posters (a poster column, and the player's timeline). Default: the page's (setPageTimeline). */
  timeline?: TimelineApi;
  /** The session and user cells become links that filter the list by that session or user. */
  filter?: {
    /** The address of the list filtered so, for a new tab or a copied link. */
    href(by: 'session' | 'user', value: string): string;
    /** A plain click: filter in place. */
    go(by: 'session' | 'user', value: string): void;
  };
}

const timelineOf = (opts: TableOptions) => opts.timeline ?? pageTimeline();

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

/** How it ended, and for a failure its reason: in full below the label (clipped by CSS), and whole on hover. */
function endedByCell(rec: Recording): HTMLElement {
  const e = rec.endedBy ? ENDED_BY_LABEL[rec.endedBy] : undefined;
  const reason = rec.failureReason;
  return h(
    'div',
    {},
    rec.endedBy ? h('span', { title: e?.title ?? null }, e?.label ?? rec.endedBy) : null,
    reason ? h('div', { class: 'failure-reason small', 'data-col': 'failure-reason', title: reason }, reason) : null,
  );
}

export function statusPill(status: Recording['status'], title?: string | null): HTMLElement {
  return h('span', { class: `pill pill-${status}`, title: title ?? null }, STATUS_LABEL[status] ?? status);
}

function fileName(rec: Recording): string {
  const ext = rec.mimeType.startsWith('video/mp4') ? 'mp4' : 'webm';
  return `recording-${rec.sessionId}-${shortId(rec.id)}.${ext}`;
}

export function recordingsTable(items: Recording[], opts: TableOptions): HTMLElement {
  const selection = opts.selection;
  const boxes: HTMLInputElement[] = [];
  const all = selection
    ? h('input', {
        type: 'checkbox',
        'aria-label': 'Select every recording shown',
        'data-select': 'all',
        onchange: () => {
          for (const b of boxes) {
            b.checked = all!.checked;
            if (all!.checked) selection.selected.add(b.value);
            else selection.selected.delete(b.value);
          }
          selection.onChange();
        },
      })
    : null;
  const syncAll = () => {
    if (!all) return;
    const ticked = boxes.filter((b) => b.checked).length;
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  };
  const head = h(
    'tr',
    {},
    all ? h('th', { scope: 'col', class: 'select' }, all) : null,
    opts.admin ? h('th', { scope: 'col' }, 'ID') : null,
    timelineOf(opts)
      ? h('th', { scope: 'col', class: 'poster-col' }, h('span', { class: 'sr-only' }, 'Preview'))
      : null,
    h('th', { scope: 'col' }, 'Session'),
    opts.admin ? h('th', { scope: 'col' }, 'User') : null,
    h('th', { scope: 'col' }, 'Started'),
    h('th', { scope: 'col' }, 'Ended'),
    h('th', { scope: 'col', class: 'num' }, 'Duration'),
    h('th', { scope: 'col', class: 'num' }, 'Size'),
    h('th', { scope: 'col' }, 'Status'),
    opts.admin ? h('th', { scope: 'col' }, 'Ended by / reason') : null,
    h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')),
  );
  const body = h(
    'tbody',
    {},
    ...items.map((rec) => {
      const box = selection
        ? h('input', {
            type: 'checkbox',
            value: rec.id,
            'aria-label': `Select the recording of session ${rec.sessionId} made ${formatDate(rec.createdAt)}`,
            'data-select': rec.id,
            onchange: () => {
              if (box!.checked) selection.selected.add(rec.id);
              else selection.selected.delete(rec.id);
              syncAll();
              selection.onChange();
            },
          })
        : null;
      if (box) {
        box.checked = selection!.selected.has(rec.id);
        boxes.push(box);
      }
      return row(rec, opts, box);
    }),
  );
  syncAll();
  return h('div', { class: 'table-wrap' }, h('table', { class: 'recordings' }, h('thead', {}, head), body));
}

/** An instant to the second in the viewer's zone, the same instant in UTC on hover. */
function timeCell(iso: string): HTMLElement {
  return h('time', { datetime: iso, title: utcTime(iso) }, formatTime(iso));
}

/** When it ended: completedAt, a failed one's last change; nothing yet while it is open. */
function endCell(rec: Recording): HTMLElement | string {
  if (rec.status === 'recording' || rec.status === 'uploading') return h('span', { class: 'muted' }, 'Still open');
  const end = rec.completedAt ?? (rec.status === 'failed' ? rec.updatedAt : null);
  return end ? timeCell(end) : '—';
}

/**
 * A cell's text, as a link that filters the list by it when the table's owner can: a link, not a button, so it
 * opens in a new tab too and its name is never taken for one of the row's buttons.
 */
function filterLink(opts: TableOptions, by: 'session' | 'user', value: string, text: string): HTMLElement | string {
  const filter = opts.filter;
  if (!filter) return text;
  return h(
    'a',
    {
      class: 'filter-link',
      href: filter.href(by, value),
      'data-filter': by,
      title: `Show only the recordings of this ${by}`,
      onclick: (e: Event) => {
        const m = e as MouseEvent;
        if (m.button !== 0 || m.ctrlKey || m.metaKey || m.shiftKey || m.altKey) return;
        e.preventDefault();
        filter.go(by, value);
      },
    },
    text,
  );
}

/**
 * Puts a newer state of a recording into its row where it stands (the live list): the row is built again and
 * takes the old one's place, keeping its checkbox, so nothing moves under the pointer. False when it is not shown.
 */
export function replaceRow(table: HTMLElement, rec: Recording, opts: TableOptions): boolean {
  const old = table.querySelector<HTMLTableRowElement>(`tr[data-recording-id="${CSS.escape(rec.id)}"]`);
  if (!old) return false;
  const box = old.querySelector<HTMLInputElement>('input[data-select]');
  old.replaceWith(row(rec, opts, box));
  return true;
}

/** "Copy link": the page's link to the recording's player, which never expires (a file URL would, within the hour). */
function copyLinkButton(rec: Recording, ready: boolean): HTMLButtonElement {
  return h(
    'button',
    {
      class: 'btn btn-small',
      type: 'button',
      disabled: !ready,
      title: ready ? 'Copy a link that opens this recording in this page (sign-in needed)' : null,
      onclick: () => void copyLink(playerLinkUrl(rec.id), 'Link to this recording'),
    },
    'Copy link',
  );
}

function row(rec: Recording, opts: TableOptions, box: HTMLInputElement | null): HTMLTableRowElement {
  const ready = rec.status === 'ready';
  const play = async () => {
    try {
      const { url } = await opts.actions.downloadUrl(rec.id);
      playerDialog(rec, url, () => void download(), { timeline: timelineOf(opts) });
    } catch (err) {
      toast(actionErrorWords('Could not open the recording', err), 'error', technicalMessage(err));
    }
  };
  const download = async () => {
    try {
      const { url } = await opts.actions.downloadUrl(rec.id);
      startDownload(url, fileName(rec));
    } catch (err) {
      toast(actionErrorWords('Could not download the recording', err), 'error', technicalMessage(err));
    }
  };
  const remove = async () => {
    if (!(await confirmDeleteOne(rec))) return;
    try {
      await opts.actions.remove(rec.id);
      toast('Recording deleted.');
    } catch (err) {
      toast(actionErrorWords('Could not delete the recording', err), 'error', technicalMessage(err));
    }
    opts.onChanged();
  };
  return h(
    'tr',
    { 'data-recording-id': rec.id, 'data-status': rec.status },
    box ? h('td', { class: 'select' }, box) : null,
    opts.admin ? h('td', { class: 'mono', title: rec.id }, shortId(rec.id)) : null,
    timelineOf(opts) ? h('td', { class: 'poster-col' }, posterCell(rec, timelineOf(opts)!)) : null,
    h('td', { class: 'mono', 'data-col': 'session' }, filterLink(opts, 'session', rec.sessionId, rec.sessionId)),
    opts.admin
      ? h(
          'td',
          { 'data-col': 'user' },
          filterLink(opts, 'user', rec.userId, rec.userName ?? rec.userId),
          rec.userName ? h('div', { class: 'muted small' }, rec.userId) : null,
        )
      : null,
    h('td', { 'data-col': 'started' }, timeCell(rec.createdAt)),
    h('td', { 'data-col': 'ended' }, endCell(rec)),
    h('td', { class: 'num', 'data-col': 'duration' }, formatDuration(rec.durationMs)),
    h('td', { class: 'num', 'data-col': 'size' }, formatBytes(rec.sizeBytes)),
    h('td', { 'data-col': 'status' }, statusPill(rec.status, rec.failureReason), holdBadge(rec)),
    opts.admin ? h('td', { 'data-col': 'ended-by', 'data-ended-by': rec.endedBy ?? '' }, endedByCell(rec)) : null,
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
      opts.copyLink ? copyLinkButton(rec, ready) : null,
      opts.hold ? holdButton(rec, opts.hold) : null,
      opts.readOnly ? null : deleteButton(rec, remove),
    ),
  );
}

function holdButton(rec: Recording, hold: (rec: Recording) => void): HTMLElement {
  return h(
    'button',
    {
      class: 'btn btn-small',
      type: 'button',
      title: rec.hold ? 'Release the legal hold' : 'Place a legal hold: no delete removes the recording while held',
      onclick: () => hold(rec),
    },
    rec.hold ? 'Release hold' : 'Hold',
  );
}

/** Off on a held row, saying why: the service refuses the delete (409) until the hold is released. */
function deleteButton(rec: Recording, remove: () => void): HTMLElement {
  return h(
    'button',
    {
      class: 'btn btn-small btn-danger-ghost',
      type: 'button',
      disabled: Boolean(rec.hold),
      title: rec.hold ? HELD_DELETE_TITLE : null,
      onclick: remove,
    },
    'Delete',
  );
}
