/**
 * The admin Settings tab: the auto-record switch (stored in the database,
 * effective at once) and the effective configuration read from the service:
 * storage backend, size limit, retention.
 */
import type { RecordingConfig } from '../shared/api.js';
import { h, replace } from '../shared/dom.js';
import { formatBytes, formatDate } from '../shared/format.js';
import { actionErrorWords, technicalMessage } from '../shared/error-words.js';
import { errorState, loading, toast } from '../shared/layout.js';
import type { AdminApi, AdminSettings } from './admin-api.js';

export function settingsTab(api: AdminApi): { element: HTMLElement; refresh(): Promise<void> } {
  const element = h(
    'section',
    { class: 'settings-stack', id: 'tab-settings', role: 'tabpanel', 'aria-labelledby': 'tab-btn-settings' },
    loading('Loading settings…'),
  );

  async function refresh(): Promise<void> {
    replace(element, loading('Loading settings…'));
    try {
      const [settings, config] = await Promise.all([api.getSettings(), api.config()]);
      replace(element, autoRecordCard(api, settings), configCard(api, settings, config));
    } catch (err) {
      replace(
        element,
        errorState(err, () => void refresh()),
      );
    }
  }
  return { element, refresh };
}

function lastChange(s: AdminSettings): string {
  return s.updatedAt
    ? `Last changed ${formatDate(s.updatedAt)}${s.updatedBy ? ` by ${s.updatedBy}` : ''}.`
    : 'Never changed: the default (off) applies.';
}

function autoRecordCard(api: AdminApi, initial: AdminSettings): HTMLElement {
  const input = h('input', { type: 'checkbox', role: 'switch', id: 'auto-record', checked: initial.autoRecord });
  const stateLabel = h('span', { id: 'auto-record-state' }, initial.autoRecord ? 'On' : 'Off');
  const meta = h('p', { class: 'muted small', id: 'auto-record-meta' }, lastChange(initial));
  input.addEventListener('change', async () => {
    const want = input.checked;
    input.disabled = true;
    stateLabel.textContent = 'Saving…';
    try {
      const saved = await api.updateSettings({ autoRecord: want });
      input.checked = saved.autoRecord;
      meta.textContent = lastChange(saved);
      toast(saved.autoRecord ? 'Auto-record is on: new sessions record as soon as they run.' : 'Auto-record is off.');
    } catch (err) {
      input.checked = !want;
      toast(actionErrorWords('Could not save the setting', err), 'error', technicalMessage(err));
    } finally {
      input.disabled = false;
      stateLabel.textContent = input.checked ? 'On' : 'Off';
    }
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'auto-record-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'auto-record-title' }, 'Recording')),
    h(
      'div',
      { class: 'setting' },
      h(
        'div',
        { class: 'setting-text' },
        h('label', { for: 'auto-record', class: 'setting-label' }, h('strong', {}, 'Auto-record every session')),
        h(
          'p',
          { class: 'muted' },
          'Recording starts as soon as a session enters the running state. Users can still stop it. Takes effect immediately, no restart needed.',
        ),
        meta,
      ),
      h('label', { class: 'switch' }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), stateLabel),
    ),
  );
}

function configCard(api: AdminApi, settings: AdminSettings, config: RecordingConfig): HTMLElement {
  const days = settings.retentionDays;
  const retention = days === 0 ? 'Keep forever' : `${days} day${days === 1 ? '' : 's'}`;
  const runButton = h('button', { class: 'btn btn-small', type: 'button', id: 'run-retention' }, 'Run cleanup now');
  runButton.addEventListener('click', async () => {
    runButton.disabled = true;
    try {
      const { deleted } = await api.runRetention();
      toast(
        deleted === 1 ? 'Retention cleanup deleted 1 recording.' : `Retention cleanup deleted ${deleted} recordings.`,
      );
    } catch (err) {
      toast(actionErrorWords('The retention cleanup did not run', err), 'error', technicalMessage(err));
    } finally {
      runButton.disabled = false;
    }
  });
  const item = (id: string, label: string, value: string, note: string, extra?: HTMLElement) =>
    h(
      'div',
      { class: 'config-item', 'data-config': id },
      h('dt', {}, label),
      h('dd', {}, h('span', { class: 'config-value' }, value), h('div', { class: 'muted' }, note), extra ?? null),
    );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'config-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'config-title' }, 'Effective configuration'),
      h('span', { class: 'muted small' }, 'Set by environment variables at start; read-only here.'),
    ),
    h(
      'dl',
      { class: 'config-grid' },
      item(
        'backend',
        'Storage backend',
        config.backend === 's3' ? 'S3' : 'Local disk',
        'SORTIE_RECORDING_STORAGE_BACKEND',
      ),
      item('max-size', 'Size limit', formatBytes(config.maxSizeBytes), 'SORTIE_RECORDING_MAX_SIZE_MB, per recording'),
      item(
        'retention',
        'Retention',
        retention,
        'SORTIE_RECORDING_RETENTION_DAYS, ready recordings only',
        days ? runButton : undefined,
      ),
    ),
  );
}
