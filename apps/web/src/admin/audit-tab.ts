/**
 * The admin Audit tab: who did what to which recording, newest first, filtered by action, actor id and
 * recording id (what GET /api/admin/audit takes), a page at a time; the hash chain's verification; and an
 * export of a time range as JSON Lines. Admins and auditors both see it: the trail is an auditor's to read,
 * and each of an auditor's reads here is itself an entry of the trail.
 */
import { startDownload } from '../shared/dialogs.js';
import { h, replace } from '../shared/dom.js';
import { formatTime, utcTime } from '../shared/format.js';
import { empty, errorState, loading, toast } from '../shared/layout.js';
import type { AdminApi, AuditAction, AuditEntry, AuditQuery } from './admin-api.js';
import { AUDIT_ACTIONS, AUDIT_ACTION_LABEL } from './audit-actions.js';
import { fromLocalInput } from './search-state.js';

const PAGE_SIZE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function auditTab(
  api: AdminApi,
  openRecording: (id: string) => void,
): { element: HTMLElement; refresh(): Promise<void> } {
  const body = h('div', { class: 'card-body' }, loading('Loading the audit trail…'));
  const pager = h('div', { class: 'pager', hidden: true });
  const verification = h('p', { class: 'audit-verify', 'aria-live': 'polite', 'data-testid': 'audit-verify' });
  let query: AuditQuery = { limit: PAGE_SIZE };
  let generation = 0;
  const filters = auditFilters((q) => {
    query = { ...q, limit: PAGE_SIZE };
    void list();
  });
  const element = h(
    'section',
    { class: 'card', id: 'tab-audit', role: 'tabpanel', 'aria-labelledby': 'tab-btn-audit' },
    h('div', { class: 'list-toolbar' }, verification, exportForm(api)),
    filters,
    body,
    pager,
  );

  async function list(): Promise<void> {
    const gen = ++generation;
    replace(body, loading('Loading the audit trail…'));
    pager.hidden = true;
    try {
      const page = await api.listAudit(query);
      if (gen !== generation) return; // A newer filter won the race.
      replace(body, page.items.length ? auditTable(page.items, openRecording) : empty('No entries match'));
      showMore(page.nextCursor, gen);
    } catch (err) {
      if (gen === generation)
        replace(
          body,
          errorState(err, () => void list()),
        );
    }
  }

  /** "Load more" appends the next page's rows to the table shown. */
  function showMore(cursor: string | null, gen: number): void {
    pager.hidden = !cursor;
    const more = async () => {
      try {
        const page = await api.listAudit({ ...query, cursor: cursor! });
        if (gen !== generation) return;
        body.querySelector('tbody')?.append(...page.items.map((e) => entryRow(e, openRecording)));
        showMore(page.nextCursor, gen);
      } catch (err) {
        replace(
          pager,
          errorState(err, () => void more()),
        );
      }
    };
    replace(
      pager,
      cursor ? h('button', { class: 'btn', type: 'button', onclick: () => void more() }, 'Load more') : null,
    );
  }

  async function refresh(): Promise<void> {
    await Promise.all([list(), verify(api, verification)]);
  }
  return { element, refresh };
}

/** The chain's state in one sentence: verified with its length, or the first entry that breaks it and why. */
async function verify(api: AdminApi, out: HTMLElement): Promise<void> {
  out.textContent = 'Verifying the chain…';
  out.dataset.ok = '';
  try {
    const v = await api.verifyAudit();
    out.dataset.ok = String(v.ok);
    const legacy = v.unchained ? ` (${v.unchained.toLocaleString()} older entries are outside the chain)` : '';
    out.textContent = v.ok
      ? `Chain verified: ${v.entries.toLocaleString()} ${v.entries === 1 ? 'entry' : 'entries'}${legacy}`
      : `Chain broken at entry ${v.firstBadId ?? '?'}: ${v.problem ?? 'unknown problem'} (${v.entries.toLocaleString()} entries verified before it)`;
  } catch (err) {
    out.dataset.ok = 'false';
    out.textContent = `Could not verify the chain: ${(err as Error).message}`;
  }
}

/** The filter form; `apply` gets the query of what is filled in. */
function auditFilters(apply: (q: AuditQuery) => void): HTMLElement {
  const action = h(
    'select',
    { name: 'action' },
    h('option', { value: '' }, 'Any action'),
    ...AUDIT_ACTIONS.map((a) => h('option', { value: a }, `${AUDIT_ACTION_LABEL[a]} (${a})`)),
  );
  const actor = h('input', { type: 'search', name: 'actorId', placeholder: 'User id, exactly', autocomplete: 'off' });
  const recording = h('input', {
    type: 'search',
    name: 'recordingId',
    placeholder: 'Recording id',
    autocomplete: 'off',
  });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = () => {
    const id = recording.value.trim();
    error.hidden = !id || UUID.test(id);
    if (!error.hidden) {
      error.textContent = 'The recording id is a whole UUID (the ID column of the Recordings tab, on hover).';
      return;
    }
    apply({
      ...(action.value ? { action: action.value as AuditAction } : {}),
      ...(actor.value.trim() ? { actorId: actor.value.trim() } : {}),
      ...(id ? { recordingId: id.toLowerCase() } : {}),
    });
  };
  action.addEventListener('change', submit);
  return h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter the audit trail',
      onsubmit: (e: Event) => (e.preventDefault(), submit()),
    },
    h('label', { class: 'field' }, 'Action', action),
    h('label', { class: 'field' }, 'Actor', actor),
    h('label', { class: 'field' }, 'Recording', recording),
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { class: 'btn btn-primary', type: 'submit' }, 'Apply'),
      h('button', { class: 'btn btn-ghost', type: 'reset', onclick: () => setTimeout(submit) }, 'Clear'),
    ),
    error,
  );
}

/** From / to (local times) and a button that downloads the chained entries of [from, to) as JSON Lines. */
function exportForm(api: AdminApi): HTMLElement {
  const from = h('input', { type: 'datetime-local', name: 'exportFrom', step: '1' });
  const to = h('input', { type: 'datetime-local', name: 'exportTo', step: '1' });
  const run = async () => {
    const range = { from: fromLocalInput(from.value) || undefined, to: fromLocalInput(to.value) || undefined };
    try {
      const blob = await api.exportAudit(range);
      const url = URL.createObjectURL(blob);
      startDownload(url, 'sortie-audit.jsonl');
      // The download has its own copy once started; the object URL is dropped a moment later.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      toast(`Could not export the audit trail: ${(err as Error).message}`, 'error');
    }
  };
  return h(
    'fieldset',
    { class: 'field-group audit-export' },
    h('legend', {}, 'Export (JSON Lines)'),
    h('label', { class: 'field' }, h('span', { class: 'sr-only' }, 'Export from'), from),
    h('span', { class: 'field-sep', 'aria-hidden': 'true' }, 'to'),
    h('label', { class: 'field' }, h('span', { class: 'sr-only' }, 'Export before'), to),
    h('button', { class: 'btn', type: 'button', onclick: () => void run() }, 'Export'),
  );
}

function auditTable(items: AuditEntry[], openRecording: (id: string) => void): HTMLElement {
  const head = h(
    'tr',
    {},
    ...['When', 'Who', 'Action', 'Recording', 'Details'].map((t) => h('th', { scope: 'col' }, t)),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'recordings audit' },
      h('thead', {}, head),
      h('tbody', {}, ...items.map((e) => entryRow(e, openRecording))),
    ),
  );
}

/** One entry; its recording id opens that recording's player, and is a `#recordings&play=` link for a new tab. */
function entryRow(e: AuditEntry, openRecording: (id: string) => void): HTMLTableRowElement {
  const rec = e.recordingId;
  const link = rec
    ? h(
        'a',
        {
          class: 'mono',
          href: `#recordings&play=${rec}`,
          'data-recording-link': rec,
          title: 'Open this recording',
          onclick: (ev: Event) => {
            const m = ev as MouseEvent;
            if (m.button !== 0 || m.ctrlKey || m.metaKey || m.shiftKey || m.altKey) return;
            ev.preventDefault();
            openRecording(rec);
          },
        },
        rec,
      )
    : h('span', { class: 'muted' }, '—');
  const details = Object.keys(e.details).length ? JSON.stringify(e.details) : '';
  return h(
    'tr',
    { 'data-audit-id': e.id, 'data-action': e.action },
    h('td', {}, h('time', { datetime: e.at, title: utcTime(e.at) }, formatTime(e.at))),
    h(
      'td',
      { 'data-col': 'actor' },
      e.actorName ?? e.actorId ?? 'the service',
      e.actorId && e.actorName ? h('div', { class: 'muted small' }, e.actorId) : null,
    ),
    h('td', { 'data-col': 'action', title: e.action }, AUDIT_ACTION_LABEL[e.action] ?? e.action),
    h('td', { 'data-col': 'recording' }, link),
    h('td', { class: 'small audit-details', 'data-col': 'details', title: details }, details),
  );
}
