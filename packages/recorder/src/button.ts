/**
 * @sortie/recorder/button — <sortie-record-button>, a custom element usable
 * from any framework: a real <button> (Record / Stop, keyboard as any
 * button), the elapsed time, the upload state in a polite live region and
 * errors in an alert region. It hides itself when the service answers 404 to
 * /api/recordings/config (recording disabled).
 *
 *   <sortie-record-button base-url="https://rec.example.com" session-id="sess-42"></sortie-record-button>
 *   el.source = canvas; el.getToken = () => token;
 *   el.sessionState = 'running';   // optional: auto-record when the admin turned it on
 *
 * The properties and attributes may be set in any order. The recorder asks
 * the element's current `getToken` whenever it needs a fresh token (first
 * use, after a 401), so one assigned later is used from then on.
 * A change of `source`, `base-url`, `session-id` or `recorderOptions` during a
 * recording applies to the next recording; a new `session-id` is a new
 * session for auto-record (the current `sessionState` applies to it).
 *
 * Events (bubbling, composed): `sortie-statechange` {state, recording},
 * `sortie-ready` {recording}, `sortie-error` {error}.
 */
import { ApiClient } from './api.js';
import { autoRecord, type AutoRecord, type SessionState } from './auto-record.js';
import { RecorderError } from './errors.js';
import { createRecorder, type Recorder, type RecorderOptions } from './recorder.js';
import type { RecorderState } from './state.js';
import type { TokenSource } from './types.js';

export const TAG_NAME = 'sortie-record-button';

const STYLE = `
:host { display: inline-flex; align-items: center; gap: .6em; font: inherit; }
:host([hidden]) { display: none; }
button { font: inherit; display: inline-flex; align-items: center; gap: .45em; padding: .45em 1em; border-radius: 999px;
  border: 1px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
button:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
button[disabled], button[aria-disabled="true"] { opacity: .6; cursor: progress; }
.dot { width: .7em; height: .7em; border-radius: 50%; background: #dc2626; }
button.capturing .dot { border-radius: 2px; }
.time { font-variant-numeric: tabular-nums; }
.error { color: #b91c1c; }
.error:empty, .status:empty, .time:empty, .progress:empty { display: none; }
`;

function formatTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// Importing this module on a server (SSR) must not throw.
const Base: typeof HTMLElement =
  typeof HTMLElement !== 'undefined' ? HTMLElement : (class {} as unknown as typeof HTMLElement);

export class SortieRecordButton extends Base {
  static observedAttributes = ['base-url', 'session-id'];

  /** Extra recorder options (frameRate, videoBitsPerSecond, …); a new object applies from the next recording. */
  recorderOptions: Partial<Omit<RecorderOptions, 'source' | 'sessionId' | 'baseUrl' | 'getToken'>> = {};

  /**
   * Words for an error, in place of its technical message (which then stays in the error line's title); null
   * keeps the message. The embedding page knows its users and what the error means to them: the SDK does not.
   */
  describeError: ((err: unknown) => string | null) | null = null;

  private sourceValue: RecorderOptions['source'] | null = null;
  private tokenValue: TokenSource | null = null;
  private sessionStateValue: SessionState | null = null;
  private rec: Recorder | null = null;
  /** What `rec` was made from: when any differs from the current value, the next recording gets a new recorder. */
  private recInputs: {
    source: RecorderOptions['source'];
    sessionId: string;
    baseUrl: string | undefined;
    options: SortieRecordButton['recorderOptions'];
  } | null = null;
  private auto: AutoRecord | null = null;
  private unsubscribe: (() => void)[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private checked = false;
  private ui: {
    button: HTMLButtonElement;
    label: HTMLSpanElement;
    time: HTMLSpanElement;
    status: HTMLSpanElement;
    /** The upload percentage: visual only, so the live region is not re-announced on every progress event. */
    progress: HTMLSpanElement;
    error: HTMLSpanElement;
  } | null = null;

  /** The canvas or MediaStream to record. */
  get source(): RecorderOptions['source'] | null {
    return this.sourceValue;
  }
  set source(v: RecorderOptions['source'] | null) {
    this.sourceValue = v;
    this.syncAuto();
    this.refresh();
  }

  /** The bearer token or a function giving it (called again after a 401). */
  get getToken(): TokenSource | null {
    return this.tokenValue;
  }
  set getToken(v: TokenSource | null) {
    this.tokenValue = v;
    this.checkEnabled();
    this.syncAuto();
    this.refresh();
  }

  /**
   * The session's state. When it becomes 'running' and the administrator
   * turned auto-record on, recording starts by itself; a manual Stop is
   * respected until the session runs again.
   */
  get sessionState(): SessionState | null {
    return this.sessionStateValue;
  }
  set sessionState(v: SessionState | null) {
    this.sessionStateValue = v;
    if (v === null) {
      // Nothing to watch: stop watching (a recording in progress is left alone).
      this.auto?.dispose();
      this.auto = null;
    } else if (this.auto) this.auto.update(v);
    else this.syncAuto();
  }

  /** The recorder behind the button (created once source, session-id and getToken are set). */
  get recorder(): Recorder | null {
    return this.rec;
  }

  connectedCallback(): void {
    if (!this.ui) this.render();
    this.checkEnabled();
    this.syncAuto();
    this.refresh();
  }

  disconnectedCallback(): void {
    // Moving the element must not stop a recording; only the clock stops.
    this.stopClock();
  }

  attributeChangedCallback(name: string, oldValue: string | null, value: string | null): void {
    if (oldValue === value) return;
    // The recorder itself is replaced lazily (currentRecorder), so one mid-recording finishes first.
    if (name === 'base-url') {
      this.checked = false;
      this.checkEnabled();
    }
    if (name === 'session-id' && this.auto) {
      // A new session: auto-record starts over for it with the current sessionState.
      this.auto.dispose();
      this.auto = null;
    }
    this.syncAuto();
    this.refresh();
  }

  private render(): void {
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style><button type="button" part="button"><span class="dot" aria-hidden="true"></span><span class="label">Record</span></button><span class="time" part="time" aria-hidden="true"></span><span class="status" part="status" role="status" aria-live="polite"></span><span class="progress" part="progress" aria-hidden="true"></span><span class="error" part="error" role="alert"></span>`;
    const q = <T extends Element>(s: string) => root.querySelector(s) as T;
    this.ui = {
      button: q('button'),
      label: q('.label'),
      time: q('.time'),
      status: q('.status'),
      progress: q('.progress'),
      error: q('.error'),
    };
    this.ui.button.addEventListener('click', () => void this.toggle());
  }

  private baseUrl(): string | undefined {
    return this.getAttribute('base-url') ?? undefined;
  }

  /** The token from whatever getToken is now (read at each call, so a later assignment is heard). */
  private currentToken(): string | Promise<string> {
    const src = this.tokenValue;
    if (!src) throw new RecorderError('invalid_state', 'The record button has no getToken.');
    return typeof src === 'function' ? src() : src;
  }

  /** Hides the element when the service says recording is disabled (404). */
  private checkEnabled(): void {
    if (this.checked || !this.tokenValue || !this.isConnected) return;
    this.checked = true;
    const api = new ApiClient({ baseUrl: this.baseUrl(), getToken: () => this.currentToken(), retry: { attempts: 3 } });
    api.config().then(
      () => (this.hidden = false),
      (err) => {
        if (err instanceof RecorderError && err.code === 'disabled') this.hidden = true;
        else {
          // Ask again after the next getToken / base-url change rather than never.
          this.checked = false;
          this.showError(err);
        }
      },
    );
  }

  /**
   * The recorder for the next action: made from the current source,
   * session-id, base-url and recorderOptions. A recorder made from older
   * values is replaced once it is not recording (idle, ready or failed), so
   * a change made mid-recording applies to the next recording. Null until
   * source, getToken and session-id are all set.
   */
  private currentRecorder(): Recorder | null {
    const sessionId = this.getAttribute('session-id');
    const source = this.sourceValue;
    if (!source || !this.tokenValue || !sessionId) return this.rec && !isSettled(this.rec.state) ? this.rec : null;
    const inputs = { source, sessionId, baseUrl: this.baseUrl(), options: this.recorderOptions };
    if (this.rec) {
      const was = this.recInputs;
      const same =
        was !== null &&
        was.source === inputs.source &&
        was.sessionId === inputs.sessionId &&
        was.baseUrl === inputs.baseUrl &&
        was.options === inputs.options;
      if (same || !isSettled(this.rec.state)) return this.rec;
      this.dropRecorder();
    }
    const recorder = createRecorder({
      ...inputs.options,
      source,
      sessionId,
      baseUrl: inputs.baseUrl,
      getToken: () => this.currentToken(),
    });
    this.recInputs = inputs;
    this.unsubscribe = [
      recorder.on('statechange', ({ state, recording }) => {
        this.dispatch('sortie-statechange', { state, recording });
        if (state === 'ready' && recording) this.dispatch('sortie-ready', { recording });
        this.refresh();
      }),
      recorder.on('progress', () => this.refresh()),
      recorder.on('error', (error) => this.showError(error)),
      // The upload_blocked message stays while uploads stall, and goes once they reach their server again.
      recorder.on('uploadstatechange', ({ uploadState }) => {
        if (uploadState === 'ok' && this.ui) this.ui.error.textContent = '';
      }),
      recorder.on('limit', () => this.setStatus('Size limit reached; saving what was recorded.')),
    ];
    this.rec = recorder;
    return recorder;
  }

  private dropRecorder(): void {
    this.unsubscribe.forEach((u) => u());
    this.unsubscribe = [];
    this.rec = null;
    this.recInputs = null;
  }

  /**
   * Starts auto-record once there is a session state and enough to record
   * with, whatever order they were set in. Auto-record drives a stable facade
   * rather than one recorder, so replacing the recorder (new source,
   * session-id, …) does not lose it.
   */
  private syncAuto(): void {
    if (this.auto || this.sessionStateValue === null || !this.currentRecorder()) return;
    this.auto = autoRecord(this.recorderFacade(), this.sessionStateValue, { onError: (err) => this.showError(err) });
  }

  /** A Recorder that forwards each call to the current recorder (currentRecorder). */
  private recorderFacade(): Recorder {
    const current = (): Recorder => {
      const r = this.currentRecorder();
      if (!r) throw new RecorderError('invalid_state', 'The record button needs source, getToken and session-id.');
      return r;
    };
    return {
      get state() {
        return current().state;
      },
      get uploadState() {
        return current().uploadState;
      },
      get recording() {
        return current().recording;
      },
      get mimeType() {
        return current().mimeType;
      },
      get progress() {
        return current().progress;
      },
      on: (type, fn) => current().on(type, fn),
      off: (type, fn) => current().off(type, fn),
      getConfig: (...args) => current().getConfig(...args),
      start: () => current().start(),
      stop: () => current().stop(),
      pause: () => current().pause(),
      resume: () => current().resume(),
      abort: () => current().abort(),
      mark: (label, data) => current().mark(label, data),
      putThumbnail: (offsetMs, jpeg) => current().putThumbnail(offsetMs, jpeg),
      get captureSource() {
        return current().captureSource;
      },
      setPointer: (p) => current().setPointer(p),
    };
  }

  private async toggle(): Promise<void> {
    const recorder = this.currentRecorder();
    if (!recorder) {
      this.showError(new RecorderError('invalid_state', 'The record button needs source, getToken and session-id.'));
      return;
    }
    this.showError(null);
    try {
      if (recorder.state === 'recording' || recorder.state === 'paused') await recorder.stop();
      else if (recorder.state === 'idle' || recorder.state === 'ready' || recorder.state === 'failed')
        await recorder.start();
    } catch {
      // Shown through the recorder's 'error' event.
    }
  }

  private dispatch(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private showError(err: unknown): void {
    if (!this.ui) return;
    const raw = err ? (err instanceof Error ? err.message : String(err)) : '';
    const words = err && this.describeError ? this.describeError(err) : null;
    this.ui.error.textContent = words ?? raw;
    this.ui.error.title = words ? raw : '';
    if (err) this.dispatch('sortie-error', { error: err });
  }

  private setStatus(text: string): void {
    if (this.ui && this.ui.status.textContent !== text) this.ui.status.textContent = text;
  }

  private startClock(): void {
    if (!this.timer) this.timer = setInterval(() => this.refresh(), 500);
  }

  private stopClock(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private refresh(): void {
    const ui = this.ui;
    if (!ui) return;
    const state: RecorderState = this.rec?.state ?? 'idle';
    const capturing = state === 'recording' || state === 'paused';
    const busy = state === 'starting' || state === 'stopping' || state === 'uploading';
    ui.label.textContent = capturing ? 'Stop' : 'Record';
    // The changing label says what the button does; aria-pressed on top would read as "Stop recording, pressed".
    ui.button.classList.toggle('capturing', capturing);
    ui.button.setAttribute('aria-label', capturing ? 'Stop recording' : 'Start recording');
    ui.button.disabled = !this.sourceValue || !this.tokenValue || !this.getAttribute('session-id');
    // Busy is aria-disabled, not disabled: a disabled button drops keyboard focus mid-recording.
    ui.button.setAttribute('aria-disabled', String(busy));
    ui.button.setAttribute('aria-busy', String(busy));
    if (capturing && this.isConnected) this.startClock();
    else this.stopClock();
    const p = this.rec?.progress;
    ui.time.textContent = p && (capturing || busy) ? formatTime(p.durationMs) : '';
    let progress = '';
    switch (state) {
      case 'starting':
        this.setStatus('Starting…');
        break;
      case 'recording':
        this.setStatus('Recording');
        break;
      case 'paused':
        this.setStatus('Paused');
        break;
      case 'stopping':
      case 'uploading': {
        const pct = p && p.recordedBytes > 0 ? Math.min(100, Math.floor((p.uploadedBytes / p.recordedBytes) * 100)) : 0;
        // The live region changes only with the state; the percentage is shown beside it, not announced.
        this.setStatus('Saving…');
        progress = `${pct}%`;
        break;
      }
      case 'ready':
        this.setStatus('Saved');
        break;
      case 'failed':
        this.setStatus('Recording failed');
        break;
      default:
        this.setStatus('');
    }
    if (ui.progress.textContent !== progress) ui.progress.textContent = progress;
  }
}

/** Not recording: the recorder may be replaced or started again. */
function isSettled(state: RecorderState): boolean {
  return state === 'idle' || state === 'ready' || state === 'failed';
}

if (typeof customElements !== 'undefined' && !customElements.get(TAG_NAME)) {
  customElements.define(TAG_NAME, SortieRecordButton);
}

declare global {
  interface HTMLElementTagNameMap {
    'sortie-record-button': SortieRecordButton;
  }
}
