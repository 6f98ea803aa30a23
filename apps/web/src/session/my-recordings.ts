/**
 * "My recordings": the signed-in user's own recordings, refreshed while any
 * of them is still recording or uploading, and when the record button says
 * something changed.
 */
import type { Recording, UserApi } from '../shared/api.js';
import { h, replace } from '../shared/dom.js';
import { empty, errorState, loading } from '../shared/layout.js';
import { recordingsTable } from '../shared/recordings-table.js';

/** How often the list is re-read while a recording is still open. */
const OPEN_POLL_MS = 2000;
/** …and otherwise, so a recording finished in another tab shows up. */
const IDLE_POLL_MS = 10_000;

export interface MyRecordings {
  element: HTMLElement;
  refresh(): Promise<void>;
}

export function myRecordings(api: UserApi): MyRecordings {
  const body = h('div', { class: 'card-body' }, loading('Loading your recordings…'));
  const count = h('span', { class: 'muted' });
  const element = h(
    'section',
    { class: 'card', id: 'my-recordings', 'aria-labelledby': 'my-recordings-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'my-recordings-title' }, 'My recordings'),
      count,
      h('div', { class: 'topbar-spacer' }),
      h('button', { class: 'btn btn-small', type: 'button', onclick: () => void refresh() }, 'Refresh'),
    ),
    body,
  );

  let last = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let items: Recording[] = [];

  async function refresh(): Promise<void> {
    clearTimeout(timer);
    try {
      const page = await api.list({ limit: 50 });
      items = page.items;
      // Re-render only on change, so a click never lands on a row being replaced.
      const key = JSON.stringify(items);
      if (key !== last) {
        last = key;
        count.textContent = items.length ? `${items.length}${page.nextCursor ? '+' : ''}` : '';
        replace(
          body,
          items.length
            ? recordingsTable(items, { admin: false, actions: api, onChanged: () => void refresh() })
            : empty(
                'No recordings yet',
                'Press Record above: the recording uploads while it records and shows up here.',
              ),
        );
      }
    } catch (err) {
      last = '';
      replace(
        body,
        errorState(err, () => void refresh()),
      );
    }
    const open = items.some((r) => r.status === 'recording' || r.status === 'uploading');
    timer = setTimeout(() => void refresh(), open ? OPEN_POLL_MS : IDLE_POLL_MS);
  }

  return { element, refresh };
}
