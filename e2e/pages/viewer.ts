/**
 * What both viewer pages share: they record an element of their viewer with
 * @sortie/recorder against the Sortie service named in the address, and hand
 * the spec a small control surface on `window.sortieViewer`.
 *
 * Address: `?service=<origin>&session=<id>#token=<bearer>`. The page lives on
 * an origin of its own (a viewer is usually not served by Sortie), so the
 * service runs with SORTIE_CORS_ORIGINS set to it.
 */
import { createRecorder, type Recorder, type RecorderOptions } from '../../packages/recorder/src/index.ts';

export interface ViewerControl {
  /** Resolves once the viewer shows the remote screen. */
  ready: Promise<void>;
  /** Starts recording `source`; resolves with the recording's id. */
  start(): Promise<string>;
  /** Recorded time so far, in ms. */
  recordedMs(): number;
  /**
   * Stops; resolves with the ready recording's id and duration, and `recordedMs`: the SDK's own clock as
   * stop() was called, the time the recording must last.
   */
  stop(): Promise<{ id: string; durationMs: number | null; recordedMs: number }>;
  /** What went wrong in the page, for the spec's messages. */
  errors: string[];
}

declare global {
  interface Window {
    sortieViewer: ViewerControl;
  }
}

export function params(): { service: string; session: string; token: string; get(name: string): string } {
  const q = new URLSearchParams(location.search);
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const get = (name: string) => {
    const v = q.get(name);
    if (!v) throw new Error(`the page address has no ${name}=`);
    return v;
  };
  return { service: get('service'), session: get('session'), token, get };
}

/** Installs window.sortieViewer: records `source` once the viewer is `ready`. */
export function exposeViewer(source: HTMLElement, ready: Promise<void>, extra: Partial<RecorderOptions> = {}): void {
  const p = params();
  const errors: string[] = [];
  window.addEventListener('error', (e) => errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));
  let recorder: Recorder | null = null;
  window.sortieViewer = {
    ready,
    errors,
    async start() {
      recorder = createRecorder({
        // The element, not a canvas: the SDK composites every canvas in it, and the pointer.
        cursor: true,
        source,
        sessionId: p.session,
        baseUrl: p.service,
        getToken: () => p.token,
        ...extra,
      });
      recorder.on('error', (e) => errors.push(`recorder: ${e.code} ${e.message}`));
      const rec = await recorder.start();
      return rec.id;
    },
    recordedMs: () => recorder?.progress.durationMs ?? 0,
    async stop() {
      if (!recorder) throw new Error('not recording');
      const recordedMs = recorder.progress.durationMs;
      const rec = await recorder.stop();
      return { id: rec.id, durationMs: rec.durationMs, recordedMs };
    },
  };
}
