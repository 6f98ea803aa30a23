/**
 * The demo session page: an animated desktop standing in for a Sortie
 * session, the SDK's record button, auto-record when the admin switched it
 * on, and the user's own recordings.
 */
import '../shared/styles.css';
import '@sortie/recorder/button';
import type { Recorder } from '@sortie/recorder';
import { recordThumbnails } from '@sortie/recorder/thumbnails';
import { userApi, type RecordingConfig } from '../shared/api.js';
import { NoTokenError, signIn, type Session } from '../shared/auth.js';
import { $, h, replace } from '../shared/dom.js';
import { formatBytes } from '../shared/format.js';
import { errorState, notice, topBar } from '../shared/layout.js';
import { recorderErrorWords } from '../shared/error-words.js';
import { fakeDesktop } from './fake-desktop.js';
import { myRecordings } from './my-recordings.js';
import { openPlayerFromLink } from '../shared/player-dialog.js';
import { readPlayerLink } from '../shared/player-link.js';
import { setPageTimeline, timelineApi } from '../shared/timeline-api.js';
import { sessionLifecycle } from './session-lifecycle.js';

const root = $('#app');

/** `?session=<id>` names the session (a Sortie session id); otherwise a fresh demo id. */
function sessionId(): string {
  const fromUrl = new URLSearchParams(location.search).get('session');
  if (fromUrl && /^[\w.:-]{1,128}$/.test(fromUrl)) return fromUrl;
  return `sess-${crypto.randomUUID().slice(0, 8)}`;
}

async function main(): Promise<void> {
  let session: Session;
  try {
    session = await signIn('user');
  } catch (err) {
    replace(
      root,
      topBar('session', null),
      h('main', { class: 'page' }, err instanceof NoTokenError ? noToken() : errorState(err, () => location.reload())),
    );
    return;
  }
  const api = userApi(() => session.getToken());
  const timeline = timelineApi(() => session.getToken());
  setPageTimeline(timeline);
  const content = h('main', { class: 'page page-session' });
  replace(root, topBar('session', session), content);

  let config: RecordingConfig | null;
  try {
    config = await api.config();
  } catch (err) {
    replace(
      content,
      errorState(err, () => location.reload()),
    );
    return;
  }

  const id = sessionId();
  const canvas = h('canvas', { class: 'desktop', id: 'desktop', 'aria-label': 'Session desktop' });
  fakeDesktop(canvas);
  const lifecycle = sessionLifecycle();
  const statePill = h('span', { class: 'pill pill-starting', id: 'session-state' }, 'Starting…');
  lifecycle.onChange((s) => {
    statePill.className = `pill pill-${s}`;
    statePill.textContent = s === 'running' ? 'Running' : 'Starting…';
  });

  const toolbar = h('div', { class: 'session-toolbar' });
  const sessionCard = h(
    'section',
    { class: 'card session-card', 'aria-labelledby': 'session-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h1', { id: 'session-title' }, 'Session ', h('span', { class: 'mono', id: 'session-id' }, id)),
      statePill,
      h('div', { class: 'topbar-spacer' }),
      toolbar,
    ),
    h('div', { class: 'desktop-frame' }, canvas),
  );

  if (!config) {
    // Recording is off on this deployment: the session works, with no recording controls at all.
    replace(
      content,
      sessionCard,
      notice(
        'info',
        'Recording is not enabled',
        'This deployment does not record sessions (SORTIE_VIDEO_RECORDING_ENABLED is off).',
      ),
    );
    lifecycle.start();
    return;
  }

  const button = recordButton(id, canvas, session);
  toolbar.append(button);
  // The SDK's auto-record: the button starts recording when the session runs and the admin turned it on.
  button.sessionState = lifecycle.state;
  lifecycle.onChange((s) => (button.sessionState = s));

  const mine = myRecordings(api);
  const facts = h(
    'p',
    { class: 'muted small session-facts' },
    `Recordings upload while they record · limit ${formatBytes(config.maxSizeBytes)} each`,
    config.autoRecord ? h('span', { class: 'badge badge-auto', id: 'auto-record-badge' }, 'Auto-record on') : null,
  );
  sessionCard.append(facts);
  replace(content, sessionCard, mine.element);

  // Whatever the button does (start, stop, upload done, size limit), the list follows.
  button.addEventListener('sortie-statechange', () => void mine.refresh());
  void mine.refresh();
  // Thumbnails of every recording the button makes (the SDK's thumbnails entry), on whichever recorder it holds.
  let withThumbnails: Recorder | null = null;
  button.addEventListener('sortie-statechange', () => {
    const recorder = button.recorder;
    if (recorder && recorder !== withThumbnails) {
      withThumbnails = recorder;
      recordThumbnails(recorder);
    }
  });
  // A link to a moment of one of the user's recordings.
  const link = readPlayerLink();
  if (link) void openPlayerFromLink(link, timeline, api.downloadUrl);

  lifecycle.start();
}

/** The SDK's record button on the session's desktop, its errors in the page's words. */
function recordButton(id: string, canvas: HTMLCanvasElement, session: Session) {
  const button = document.createElement('sortie-record-button');
  button.setAttribute('session-id', id);
  button.setAttribute('base-url', location.origin);
  button.source = canvas;
  button.getToken = () => session.getToken();
  button.describeError = recorderErrorWords;
  return button;
}

function noToken(): HTMLElement {
  return notice(
    'warn',
    'Not signed in',
    'Open this page from Sortie, which passes your sign-in token (as #token=… in the address, or window.SORTIE_TOKEN). In demo mode (SORTIE_DEMO=true) the page signs you in as a demo user.',
  );
}

void main();
