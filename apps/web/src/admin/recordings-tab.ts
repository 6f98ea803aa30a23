/**
 * The admin Recordings tab: every user's recordings with filters (user,
 * session, status), paging, and play / download / delete on any of them.
 */
import type { Recording, RecordingStatus } from '../shared/api.js';
import { h, replace } from '../shared/dom.js';
import { empty, errorState, loading } from '../shared/layout.js';
import { recordingsTable } from '../shared/recordings-table.js';
import type { AdminApi } from './admin-api.js';

const PAGE_SIZE = 25;

export function recordingsTab(api: AdminApi): { element: HTMLElement; refresh(): Promise<void> } {
  const userInput = h('input', { type: 'search', name: 'userId', placeholder: 'User id', autocomplete: 'off' });
  const sessionInput = h('input', {
    type: 'search',
    name: 'sessionId',
    placeholder: 'Session id',
    autocomplete: 'off',
  });
  const statusSelect = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'Any status'),
    ...(['ready', 'recording', 'uploading', 'failed'] as const).map((s) =>
      h('option', { value: s }, s[0]!.toUpperCase() + s.slice(1)),
    ),
  );
  const body = h('div', { class: 'card-body' }, loading('Loading recordings…'));
  const pager = h('div', { class: 'pager', hidden: true });
  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter recordings',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void refresh();
      },
    },
    h('label', { class: 'field' }, 'User', userInput),
    h('label', { class: 'field' }, 'Session', sessionInput),
    h('label', { class: 'field' }, 'Status', statusSelect),
    h('button', { class: 'btn btn-primary', type: 'submit' }, 'Apply'),
    h(
      'button',
      {
        class: 'btn btn-ghost',
        type: 'button',
        onclick: () => {
          userInput.value = '';
          sessionInput.value = '';
          statusSelect.value = '';
          void refresh();
        },
      },
      'Clear',
    ),
  );
  statusSelect.addEventListener('change', () => void refresh());
  const element = h(
    'section',
    { class: 'card', id: 'tab-recordings', role: 'tabpanel', 'aria-labelledby': 'tab-btn-recordings' },
    filters,
    body,
    pager,
  );

  let items: Recording[] = [];
  let generation = 0;

  const query = () => ({
    userId: userInput.value.trim() || undefined,
    sessionId: sessionInput.value.trim() || undefined,
    status: (statusSelect.value || undefined) as RecordingStatus | undefined,
    limit: PAGE_SIZE,
  });

  const render = (nextCursor: string | null, filtered: boolean) => {
    replace(
      body,
      items.length
        ? recordingsTable(items, { admin: true, actions: api, onChanged: () => void refresh() })
        : filtered
          ? empty('No recordings match these filters', 'Clear the filters to see every recording.')
          : empty('No recordings yet', 'Recordings from every user appear here as soon as they start.'),
    );
    pager.hidden = !nextCursor;
    replace(
      pager,
      nextCursor
        ? h('button', { class: 'btn', type: 'button', onclick: () => void more(nextCursor) }, 'Load more')
        : null,
    );
  };

  async function refresh(): Promise<void> {
    const gen = ++generation;
    replace(body, loading('Loading recordings…'));
    pager.hidden = true;
    const q = query();
    try {
      const page = await api.listRecordings(q);
      if (gen !== generation) return; // A newer filter won the race.
      items = page.items;
      render(page.nextCursor, Boolean(q.userId || q.sessionId || q.status));
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
    const q = query();
    try {
      const page = await api.listRecordings({ ...q, cursor });
      if (gen !== generation) return;
      items = [...items, ...page.items];
      render(page.nextCursor, Boolean(q.userId || q.sessionId || q.status));
    } catch (err) {
      replace(
        pager,
        errorState(err, () => void more(cursor)),
      );
    }
  }

  return { element, refresh };
}
