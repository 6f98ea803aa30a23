/**
 * The admin list that keeps up by itself: every few seconds while the tab is visible it asks the service what
 * changed since its last answer (`updatedSince`, under the list's own filters), puts the newer state of the rows it
 * shows into them where they stand (Recording → Ready, Play enabled), and counts the recordings that started since
 * the list was loaded in a quiet "n new recordings — Show" notice rather than pushing rows under the pointer.
 * A Refresh button loads the list again at once.
 */
import type { Recording } from '../shared/api.js';
import { h } from '../shared/dom.js';
import { replaceRow, type TableOptions } from '../shared/recordings-table.js';
import type { AdminApi, AdminQuery } from './admin-api.js';

/** How often the list asks, while its tab is visible. */
export const POLL_MS = 5_000;

/**
 * Each poll reaches this far before the previous answer's asOf: a change stamped just before that answer but
 * committed after it is still seen. A row answered twice is the same row, put in place again only if it changed.
 */
const OVERLAP_MS = 5_000;

/** What the live list reads from and writes into the Recordings tab. */
export interface LiveView {
  /** The list query of what is shown: its filters and sort, no cursor. */
  query(): AdminQuery;
  /** The recordings shown, in order; the live list puts newer states into it. */
  items(): Recording[];
  /** The element that holds the table, and the table's options, to build a row again. */
  table(): HTMLElement;
  tableOptions(): TableOptions;
  /** Loads the list again (Refresh, and Show on the notice). */
  reload(): void;
}

export interface LiveList {
  /** The refresh button and the notice, for the list's toolbar. */
  element: HTMLElement;
  /** The list was loaded: the next poll starts from its `asOf`, and the notice is cleared. */
  loaded(asOf: string | undefined): void;
}

const plural = (n: number) => `${n.toLocaleString()} new ${n === 1 ? 'recording' : 'recordings'}`;

export function liveList(api: AdminApi, view: LiveView, intervalMs = POLL_MS): LiveList {
  const text = h('span', {});
  const notice = h(
    'p',
    { class: 'new-notice', role: 'status', 'data-testid': 'new-recordings', hidden: true },
    text,
    h('button', { class: 'btn btn-small', type: 'button', onclick: () => view.reload() }, 'Show'),
  );
  const refresh = h(
    'button',
    {
      class: 'btn btn-small btn-ghost',
      type: 'button',
      title: 'Load the list again now',
      onclick: () => view.reload(),
    },
    'Refresh',
  );
  const element = h('div', { class: 'live-toolbar' }, notice, refresh);

  /** The asOf the next poll starts from, and the one of the load (a recording started after it is new). */
  let since: string | null = null;
  let loadedAt = 0;
  const fresh = new Set<string>();
  let inFlight = false;
  let epoch = 0;

  const showNotice = () => {
    notice.hidden = fresh.size === 0;
    text.textContent = plural(fresh.size);
  };

  async function poll(): Promise<void> {
    if (!since || inFlight || document.visibilityState !== 'visible' || !element.isConnected) return;
    inFlight = true;
    const mine = epoch;
    try {
      const updatedSince = new Date(Date.parse(since) - OVERLAP_MS).toISOString();
      const page = await api.listRecordings({ ...view.query(), limit: 200, updatedSince });
      if (mine !== epoch) return; // The list was loaded again meanwhile: this answer is about the old one.
      for (const rec of page.items) {
        if (!putInPlace(view, rec) && Date.parse(rec.createdAt) >= loadedAt - OVERLAP_MS) fresh.add(rec.id);
      }
      since = page.asOf ?? since;
      showNotice();
    } catch {
      // Quiet: the rows stay as they are and the next tick asks again; Refresh shows the error if it lasts.
    } finally {
      inFlight = false;
    }
  }

  setInterval(() => void poll(), intervalMs);
  document.addEventListener('visibilitychange', () => void poll());

  return {
    element,
    loaded(asOf) {
      epoch++;
      since = asOf ?? null;
      loadedAt = asOf ? Date.parse(asOf) : 0;
      fresh.clear();
      showNotice();
    },
  };
}

/** A newer state of a row shown, put into it where it stands; false when the recording is not shown. */
function putInPlace(view: LiveView, rec: Recording): boolean {
  const items = view.items();
  const i = items.findIndex((r) => r.id === rec.id);
  if (i < 0) return false;
  if (items[i]!.updatedAt !== rec.updatedAt || items[i]!.status !== rec.status) {
    items[i] = rec;
    replaceRow(view.table(), rec, view.tableOptions());
  }
  return true;
}
