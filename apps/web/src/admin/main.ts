/**
 * The admin panel: an Overview tab (charts), a Recordings tab (every user's
 * recordings, legal holds), an Audit tab (the trail, its verification and export) and a Settings tab
 * (auto-record, effective configuration). The service decides who is an
 * administrator: a 403 on the admin routes means no panel at all, a 404 means
 * recording is disabled on this deployment. An auditor (who is not also an admin) sees the Recordings and
 * Audit tabs only, read-only: the list, the player and the trail, no delete or hold; every read of theirs is
 * audited by the service.
 */
import '../shared/styles.css';
import { statusOf } from '../shared/api.js';
import { NoTokenError, signIn, type Session } from '../shared/auth.js';
import { $, h, replace } from '../shared/dom.js';
import { errorState, loading, notice, topBar } from '../shared/layout.js';
import { adminApi } from './admin-api.js';
import { auditTab } from './audit-tab.js';
import { overviewTab } from './overview-tab.js';
import { openPlayerFromLink } from '../shared/player-dialog.js';
import { readPlayerLink } from '../shared/player-link.js';
import { setPageTimeline, timelineApi } from '../shared/timeline-api.js';
import { recordingsTab } from './recordings-tab.js';
import { settingsTab } from './settings-tab.js';

const root = $('#app');
type TabName = 'overview' | 'recordings' | 'audit' | 'settings';
const TAB_LABEL: Record<TabName, string> = {
  overview: 'Overview',
  recordings: 'Recordings',
  audit: 'Audit',
  settings: 'Settings',
};

async function main(): Promise<void> {
  let session: Session;
  try {
    session = await signIn('admin');
  } catch (err) {
    replace(
      root,
      topBar('admin', null),
      h(
        'main',
        { class: 'page' },
        err instanceof NoTokenError
          ? notice(
              'warn',
              'Not signed in',
              'Open the admin panel from Sortie, which passes your sign-in token (#token=… or window.SORTIE_TOKEN).',
            )
          : errorState(err, () => location.reload()),
      ),
    );
    return;
  }
  const content = h('main', { class: 'page page-admin' }, loading('Checking access…'));
  replace(root, topBar('admin', session), content);
  const api = adminApi(() => session.getToken());
  const timeline = timelineApi(() => session.getToken());
  setPageTimeline(timeline);
  // A link to a moment of a recording (#recordings&play=<id>&t=<s>): read before the tabs rewrite the hash.
  const link = readPlayerLink();
  if (link) void openPlayerFromLink(link, timeline, (id) => api.downloadUrl(id));

  // An auditor may not read the settings, so their access is checked with the list they may read (audited).
  const auditorView = session.isAuditor && !session.isAdmin;
  // One admin call decides what this page may show.
  try {
    if (auditorView) await api.listRecordings({ limit: 1 });
    else await api.getSettings();
  } catch (err) {
    const status = statusOf(err);
    if (status === 403) {
      replace(
        content,
        notice(
          'warn',
          'Administrators only',
          `${session.name} is not an administrator, so the admin panel is not available. Ask an administrator for access.`,
        ),
      );
    } else if (status === 404) {
      replace(
        content,
        notice(
          'info',
          'Recording is not enabled',
          'This deployment does not record sessions (SORTIE_VIDEO_RECORDING_ENABLED is off), so there is nothing to manage here.',
        ),
      );
    } else if (status === 401) {
      replace(
        content,
        notice('warn', 'Signed out', 'Your sign-in has expired. Open the admin panel from Sortie again.'),
      );
    } else {
      replace(
        content,
        errorState(err, () => location.reload()),
      );
    }
    return;
  }

  // A recording named in the trail opens in the player over the Audit tab, as a #play= link would.
  const openRecording = (id: string) => void openPlayerFromLink({ id, t: 0 }, timeline, (rid) => api.downloadUrl(rid));
  const tabs: Partial<Record<TabName, { element: HTMLElement; refresh(): Promise<void> }>> = auditorView
    ? { recordings: recordingsTab(api, { readOnly: true }), audit: auditTab(api, openRecording) }
    : {
        overview: overviewTab(api),
        recordings: recordingsTab(api),
        audit: auditTab(api, openRecording),
        settings: settingsTab(api),
      };
  const buttons = (Object.keys(tabs) as TabName[]).map((name) =>
    h(
      'button',
      { role: 'tab', type: 'button', id: `tab-btn-${name}`, 'aria-controls': `tab-${name}`, onclick: () => show(name) },
      TAB_LABEL[name],
    ),
  );
  const panel = h('div', { class: 'tab-panel' });
  replace(
    content,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, auditorView ? 'Recordings (auditor, read-only)' : 'Recording administration'),
    ),
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Admin sections' }, ...buttons),
    panel,
  );

  function show(name: TabName): void {
    for (const b of buttons) b.setAttribute('aria-selected', String(b.id === `tab-btn-${name}`));
    const tab = tabs[name] ?? tabs.recordings!;
    replace(panel, tab.element);
    void tab.refresh();
    if (location.hash !== `#${name}`) history.replaceState(null, '', `${location.pathname}${location.search}#${name}`);
  }
  // Recordings stays the first view: it is what the panel is opened for most.
  // The tab's name is the hash's first entry (the player may add play=… and t=… after it).
  const fromHash = (): TabName => {
    const first = location.hash.replace(/^#/, '').split('&')[0] ?? '';
    const name = (Object.keys(TAB_LABEL) as TabName[]).find((n) => n === first) ?? 'recordings';
    return tabs[name] ? name : 'recordings';
  };
  window.addEventListener('hashchange', () => show(fromHash()));
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab then reaches the panel.
  buttons.forEach((b, i) =>
    b.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = buttons[(i + step + buttons.length) % buttons.length]!;
      next.focus();
      next.click();
    }),
  );
  show(fromHash());
}

void main();
