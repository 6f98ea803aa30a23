/**
 * The admin Recordings tab: every user's recordings, searched by user (a prefix
 * of the id or name), session (a prefix), status, marker text and time
 * ("recorded between": going on at some moment of the range), sorted by created,
 * duration or size, a page size, the count ("1000+" past the service's cap),
 * paging, ticked rows deleted in bulk, and play / download / copy a link /
 * delete on any one. The search lives in the query string (search-state.ts):
 * a link shares it, a reload restores it, Back returns to the previous one.
 * The list keeps up by itself (live-list.ts); a click on a session or user
 * filters by it.
 */
import type { Recording } from '../shared/api.js';
import { confirmDeleteMany } from '../shared/delete-confirm.js';
import { h, replace } from '../shared/dom.js';
import { actionErrorWords, technicalMessage } from '../shared/error-words.js';
import { empty, errorState, loading, toast } from '../shared/layout.js';
import { recordingsTable, type TableOptions } from '../shared/recordings-table.js';
import type { AdminApi } from './admin-api.js';
import { heldSelect, holdDialog } from './hold.js';
import { liveList } from './live-list.js';
import {
  PAGE_SIZES,
  fromLocalInput,
  isFiltered,
  readSearch,
  searchString,
  toLocalInput,
  toQuery,
  type Search,
} from './search-state.js';

/** The service takes at most this many ids per bulk delete: more are sent in several requests. */
const BULK_MAX = 200;

const SORT_OPTIONS: { value: string; label: string }[] = [
  { value: 'created:desc', label: 'Newest first' },
  { value: 'created:asc', label: 'Oldest first' },
  { value: 'duration:desc', label: 'Longest first' },
  { value: 'duration:asc', label: 'Shortest first' },
  { value: 'size:desc', label: 'Largest first' },
  { value: 'size:asc', label: 'Smallest first' },
];

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/**
 * `readOnly`: the auditor's view, with no tick boxes, bulk delete or Delete buttons (the service refuses an
 * auditor's deletes; the buttons would only promise what it will not do).
 */
export function recordingsTab(
  api: AdminApi,
  opts: { readOnly?: boolean } = {},
): { element: HTMLElement; refresh(): Promise<void> } {
  const input = (name: string, label: string, attrs: Record<string, string> = {}) =>
    h('input', { type: 'search', name, placeholder: label, autocomplete: 'off', ...attrs });
  const userInput = input('user', 'Name or id, from the start');
  const sessionInput = input('session', 'Session id, from the start');
  const markerInput = input('marker', 'Marker text');
  const fromInput = h('input', { type: 'datetime-local', name: 'from', step: '1' });
  const toInput = h('input', { type: 'datetime-local', name: 'to', step: '1' });
  const statusSelect = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'Any status'),
    ...(['ready', 'recording', 'uploading', 'failed'] as const).map((s) =>
      h('option', { value: s }, s[0]!.toUpperCase() + s.slice(1)),
    ),
  );
  const heldFilter = heldSelect();
  const sortSelect = h(
    'select',
    { name: 'sort' },
    ...SORT_OPTIONS.map((o) => h('option', { value: o.value }, o.label)),
  );
  const sizeSelect = h(
    'select',
    { name: 'limit' },
    ...PAGE_SIZES.map((n) => h('option', { value: String(n) }, `${n} per page`)),
  );
  const formError = h('p', { class: 'form-error', role: 'alert', hidden: true });

  const body = h('div', { class: 'card-body' }, loading('Loading recordings…'));
  const pager = h('div', { class: 'pager', hidden: true });
  const count = h('p', { class: 'list-count', 'aria-live': 'polite', 'data-testid': 'recordings-count' });
  const selectedNote = h('span', { class: 'muted', 'aria-live': 'polite' });
  const bulkButton = h(
    'button',
    { class: 'btn btn-danger', type: 'button', disabled: true, onclick: () => void bulkDelete() },
    'Delete selected',
  );

  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Search recordings',
      onsubmit: (e: Event) => {
        e.preventDefault();
        apply();
      },
    },
    h('label', { class: 'field' }, 'User', userInput),
    h('label', { class: 'field' }, 'Session', sessionInput),
    h('label', { class: 'field' }, 'Status', statusSelect),
    h('label', { class: 'field' }, 'Held', heldFilter),
    h('label', { class: 'field' }, 'Marker', markerInput),
    h(
      'fieldset',
      { class: 'field-group' },
      h('legend', {}, 'Recorded between'),
      h('label', { class: 'field' }, h('span', { class: 'sr-only' }, 'Recorded from'), fromInput),
      h('span', { class: 'field-sep', 'aria-hidden': 'true' }, 'and'),
      h('label', { class: 'field' }, h('span', { class: 'sr-only' }, 'Recorded before'), toInput),
    ),
    h('label', { class: 'field' }, 'Sort', sortSelect),
    h('label', { class: 'field' }, 'Page size', sizeSelect),
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { class: 'btn btn-primary', type: 'submit' }, 'Apply'),
      h(
        'button',
        {
          class: 'btn btn-ghost',
          type: 'button',
          onclick: () => {
            const s = readSearch('');
            show(s);
            navigate(s);
          },
        },
        'Clear',
      ),
    ),
    formError,
  );
  // Choices that need no typing take effect at once.
  for (const el of [statusSelect, heldFilter, sortSelect, sizeSelect]) el.addEventListener('change', () => apply());

  // Rows that change and recordings that start while the list is open (live-list.ts).
  const live = liveList(api, {
    query: () => toQuery(current),
    items: () => items,
    table: () => body,
    tableOptions: () => tableOptions(),
    reload: () => void refresh(),
  });

  const element = h(
    'section',
    { class: 'card', id: 'tab-recordings', role: 'tabpanel', 'aria-labelledby': 'tab-btn-recordings' },
    filters,
    h(
      'div',
      { class: 'list-toolbar' },
      count,
      live.element,
      opts.readOnly ? null : h('div', { class: 'bulk' }, selectedNote, bulkButton),
    ),
    body,
    pager,
  );

  let items: Recording[] = [];
  let generation = 0;
  let current = readSearch();
  const selected = new Set<string>();
  const tableOptions = (): TableOptions => ({
    admin: true,
    actions: api,
    onChanged: () => void refresh(),
    selection: opts.readOnly ? undefined : { selected, onChange: updateSelection },
    readOnly: opts.readOnly,
    hold: opts.readOnly ? undefined : (rec) => void holdDialog(api, rec, () => void refresh()),
    copyLink: true,
    filter: {
      href: (by, value) => `${location.pathname}${searchString({ ...current, [by]: value })}${location.hash}`,
      go: (by, value) => navigate({ ...current, [by]: value }),
    },
  });

  /** Puts a search into the form. */
  function show(s: Search): void {
    userInput.value = s.user;
    sessionInput.value = s.session;
    statusSelect.value = s.status;
    heldFilter.value = s.held;
    markerInput.value = s.marker;
    fromInput.value = toLocalInput(s.from);
    toInput.value = toLocalInput(s.to);
    sortSelect.value = `${s.sort}:${s.order}`;
    sizeSelect.value = String(s.limit);
  }

  /** The form's search, or an error sentence. */
  function fromForm(): Search | string {
    const [sort, order] = sortSelect.value.split(':') as [Search['sort'], Search['order']];
    const from = fromLocalInput(fromInput.value);
    const to = fromLocalInput(toInput.value);
    if (fromInput.value && !from) return 'The start of "Recorded between" is not a complete date and time.';
    if (toInput.value && !to) return 'The end of "Recorded between" is not a complete date and time.';
    if (from && to && from > to) return 'The start of "Recorded between" must not be after its end.';
    return {
      user: userInput.value.trim(),
      session: sessionInput.value.trim(),
      status: statusSelect.value as Search['status'],
      held: heldFilter.value as Search['held'],
      marker: markerInput.value.trim(),
      from,
      to,
      sort,
      order,
      limit: Number(sizeSelect.value),
    };
  }

  function apply(): void {
    const s = fromForm();
    formError.hidden = typeof s !== 'string';
    if (typeof s === 'string') {
      formError.textContent = s;
      return;
    }
    navigate(s);
  }

  /** A new search: into the URL (a history entry of its own), then the list. */
  function navigate(s: Search): void {
    const qs = searchString(s);
    if (qs !== location.search) history.pushState(null, '', `${location.pathname}${qs}${location.hash}`);
    void refresh();
  }

  window.addEventListener('popstate', () => {
    if (element.isConnected) void refresh();
  });

  const updateSelection = () => {
    const n = selected.size;
    selectedNote.textContent = n ? `${plural(n, 'recording')} selected` : '';
    bulkButton.disabled = n === 0;
    bulkButton.textContent = n ? `Delete selected (${n})` : 'Delete selected';
  };

  const render = (nextCursor: string | null) => {
    replace(
      body,
      items.length
        ? recordingsTable(items, tableOptions())
        : isFiltered(current)
          ? empty('No recordings match this search', 'Clear the search to see every recording.')
          : empty('No recordings yet', 'Recordings from every user appear here as soon as they start.'),
    );
    pager.hidden = !nextCursor;
    replace(
      pager,
      nextCursor
        ? h('button', { class: 'btn', type: 'button', onclick: () => void more(nextCursor) }, 'Load more')
        : null,
    );
    updateSelection();
  };

  async function refresh(): Promise<void> {
    const gen = ++generation;
    // The URL is the search: after Back, a shared link, or a return from another tab.
    current = readSearch();
    show(current);
    formError.hidden = true;
    selected.clear();
    replace(body, loading('Loading recordings…'));
    count.textContent = '';
    pager.hidden = true;
    try {
      const page = await api.listRecordings({ ...toQuery(current), count: true });
      if (gen !== generation) return; // A newer search won the race.
      items = page.items;
      live.loaded(page.asOf);
      const n = page.count ?? items.length;
      count.textContent = page.countIsLowerBound ? `${n.toLocaleString()}+ recordings` : plural(n, 'recording');
      count.title = page.countIsLowerBound ? `More than ${n.toLocaleString()} match: the count stops there.` : '';
      render(page.nextCursor);
    } catch (err) {
      if (gen === generation)
        replace(
          body,
          errorState(err, () => void refresh()),
        );
    }
  }

  async function more(cursor: string): Promise<void> {
    const gen = generation;
    try {
      const page = await api.listRecordings({ ...toQuery(current), cursor });
      if (gen !== generation) return;
      items = [...items, ...page.items];
      render(page.nextCursor);
    } catch (err) {
      replace(
        pager,
        errorState(err, () => void more(cursor)),
      );
    }
  }

  async function bulkDelete(): Promise<void> {
    const ids = [...selected];
    if (!ids.length) return;
    if (!(await confirmDeleteMany(ids, items, (n) => plural(n, 'recording')))) return;
    let deleted = 0;
    const problems: string[] = [];
    try {
      for (let i = 0; i < ids.length; i += BULK_MAX) {
        const result = await api.removeMany(ids.slice(i, i + BULK_MAX));
        deleted += result.deleted;
        for (const r of result.results) if (r.status === 'failed') problems.push(r.message ?? r.id);
      }
      if (problems.length)
        toast(`Deleted ${plural(deleted, 'recording')}; ${problems.length} could not be: ${problems[0]}`, 'error');
      else toast(`Deleted ${plural(deleted, 'recording')}.`);
    } catch (err) {
      toast(actionErrorWords('Could not delete the recordings', err), 'error', technicalMessage(err));
    }
    await refresh();
  }

  show(current);
  return { element, refresh };
}
