/**
 * The admin Overview tab: storage over time, recordings per day by status,
 * failure rate with the most common reasons, and the largest users, for the
 * last 7, 30 or 90 days (`?days=` in the URL, so the view can be shared).
 * The figures come from GET /api/admin/overview in one request.
 */
import { h, replace } from '../shared/dom.js';
import { formatBytes } from '../shared/format.js';
import { errorState, loading } from '../shared/layout.js';
import type { AdminApi, AdminOverview } from './admin-api.js';
import { areaChart, barList, ring, stackedBars, type Series } from './charts.js';

const DAY_CHOICES = [7, 30, 90] as const;

const STATUS_SERIES: Series[] = [
  { key: 'ready', label: 'Ready', className: 'chart-ready' },
  { key: 'failed', label: 'Failed', className: 'chart-failed' },
  { key: 'uploading', label: 'Uploading', className: 'chart-uploading' },
  { key: 'recording', label: 'Recording', className: 'chart-recording' },
];

const ENDED_LABEL: Record<string, string> = {
  stop: 'Stopped',
  beacon: 'Tab closed',
  abandoned: 'Abandoned',
  size_limit: 'Size limit',
  failed: 'Failed',
};

function readDays(): number {
  const d = Number(new URLSearchParams(location.search).get('days'));
  return (DAY_CHOICES as readonly number[]).includes(d) ? d : 30;
}

export function overviewTab(api: AdminApi): { element: HTMLElement; refresh(): Promise<void> } {
  const daysSelect = h(
    'select',
    { name: 'days' },
    ...DAY_CHOICES.map((d) => h('option', { value: String(d) }, `Last ${d} days`)),
  );
  daysSelect.addEventListener('change', () => {
    const p = new URLSearchParams(location.search);
    if (daysSelect.value === '30') p.delete('days');
    else p.set('days', daysSelect.value);
    const qs = p.toString();
    history.pushState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}${location.hash}`);
    void refresh();
  });
  const body = h('div', { class: 'overview-grid' }, loading('Loading the overview…'));
  const element = h(
    'section',
    { id: 'tab-overview', role: 'tabpanel', 'aria-labelledby': 'tab-btn-overview', class: 'overview' },
    h('div', { class: 'overview-head' }, h('label', { class: 'field' }, 'Period', daysSelect)),
    body,
  );
  window.addEventListener('popstate', () => {
    if (element.isConnected) void refresh();
  });

  let generation = 0;
  async function refresh(): Promise<void> {
    const gen = ++generation;
    const days = readDays();
    daysSelect.value = String(days);
    replace(body, loading('Loading the overview…'));
    try {
      const o = await api.overview(days);
      if (gen === generation) replace(body, ...cards(o));
    } catch (err) {
      if (gen === generation)
        replace(
          body,
          errorState(err, () => void refresh()),
        );
    }
  }
  return { element, refresh };
}

function card(id: string, title: string, figure: string, ...content: (Node | null)[]): HTMLElement {
  return h(
    'section',
    { class: 'card chart-card', 'aria-labelledby': `${id}-title`, 'data-chart': id },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: `${id}-title` }, title),
      h('span', { class: 'chart-figure' }, figure),
    ),
    h('div', { class: 'card-pad' }, ...content),
  );
}

function cards(o: AdminOverview): HTMLElement[] {
  const days = o.storage.byDay.map((d) => d.day);
  const made = o.byDay.reduce((a, d) => a + d.ready + d.failed + d.uploading + d.recording, 0);
  const storage = card(
    'storage',
    'Storage used',
    formatBytes(o.storage.totalBytes),
    areaChart(
      days,
      o.storage.byDay.map((d) => d.cumulativeBytes),
      {
        label: `Storage held by the recordings kept, at the end of each of the last ${o.days} days: ${formatBytes(o.storage.byDay[0]?.cumulativeBytes ?? 0)} on ${days[0]}, ${formatBytes(o.storage.totalBytes)} now.`,
        format: formatBytes,
      },
    ),
    h('p', { class: 'muted small' }, 'Held by the recordings kept today, by the day they were made.'),
  );
  const perDay = card(
    'per-day',
    'Recordings per day',
    `${made.toLocaleString()} in ${o.days} days`,
    stackedBars(
      days,
      o.byDay as unknown as Record<string, number>[],
      STATUS_SERIES,
      `Recordings made each day of the last ${o.days} days by status: ${made} in all.`,
    ),
    h(
      'ul',
      { class: 'legend' },
      ...STATUS_SERIES.map((se) =>
        h('li', {}, h('span', { class: `swatch ${se.className}`, 'aria-hidden': 'true' }), se.label),
      ),
    ),
  );
  const e = o.endings;
  const failures = card(
    'failures',
    'Failures',
    `${e.failed.toLocaleString()} of ${e.ended.toLocaleString()} ended`,
    h(
      'div',
      { class: 'failure-split' },
      ring(e.failureRate, `Failure rate: ${(e.failureRate * 100).toFixed(1)}% of ${e.ended} recordings ended.`),
      h(
        'div',
        {},
        h('h3', { class: 'small' }, 'Most common reasons'),
        e.topReasons.length
          ? barList(
              e.topReasons.map((r) => ({
                label: r.reason,
                value: r.count,
                text: r.count.toLocaleString(),
                detail: r.reason,
              })),
              'Most common failure reasons',
            )
          : h('p', { class: 'muted' }, 'No failures in this period.'),
        h(
          'p',
          { class: 'muted small' },
          Object.entries(e.byEndedBy)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${ENDED_LABEL[k] ?? k} ${n.toLocaleString()}`)
            .join(' · ') || 'Nothing ended in this period.',
        ),
      ),
    ),
  );
  const users = card(
    'users',
    'Largest users',
    `top ${o.largestUsers.length}`,
    o.largestUsers.length
      ? barList(
          o.largestUsers.map((u) => ({
            label: u.userName ?? u.userId,
            value: u.bytes,
            text: `${formatBytes(u.bytes)} · ${u.recordings.toLocaleString()}`,
            detail: `${u.userId}: ${u.recordings} recordings`,
          })),
          'Users holding the most storage',
        )
      : h('p', { class: 'muted' }, 'No recordings yet.'),
  );
  return [storage, perDay, failures, users];
}
