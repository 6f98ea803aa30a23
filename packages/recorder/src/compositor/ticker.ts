/**
 * The compositor's clock: a tick every 1000/fps ms that keeps coming while
 * the tab is hidden. Browsers stop requestAnimationFrame in a hidden tab and
 * throttle the page's own timers (to once a second, later once a minute), but
 * not a dedicated Worker's timers; the worker only posts ticks, the drawing
 * stays on the main thread where the canvases are.
 *
 * The worker is made from a Blob URL, so the page's CSP must allow
 * `worker-src blob:` (the service's own pages do). Where it may not, the
 * ticker falls back to the page's setInterval: the recording then keeps its
 * wall-clock length, but a hidden tab records about one frame a second.
 */

/** Stops the ticks. */
export type StopTicker = () => void;

/** The worker's whole program: setInterval at the period it is sent; 0 stops. */
const WORKER_SOURCE = 'let t;onmessage=e=>{clearInterval(t);if(e.data>0)t=setInterval(()=>postMessage(0),e.data)}';

/** What the ticker runs on, for a test or a bench to report. */
export type TickSource = 'worker' | 'page-timer';

export function startTicker(fps: number, onTick: () => void, onSource?: (s: TickSource) => void): StopTicker {
  const period = Math.max(1, Math.round(1000 / fps));
  let fallback: ReturnType<typeof setInterval> | null = null;
  let worker: Worker | null = null;
  let url: string | null = null;
  const useTimer = () => {
    worker?.terminate();
    worker = null;
    if (fallback === null) fallback = setInterval(onTick, period);
    onSource?.('page-timer');
  };
  try {
    url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    worker = new Worker(url);
    worker.onmessage = () => onTick();
    // A CSP without blob: workers refuses the script asynchronously in some browsers: an error event, not a throw.
    worker.onerror = (e) => {
      e.preventDefault();
      useTimer();
    };
    worker.postMessage(period);
    onSource?.('worker');
  } catch {
    useTimer();
  }
  return () => {
    worker?.postMessage(0);
    worker?.terminate();
    worker = null;
    if (fallback !== null) clearInterval(fallback);
    fallback = null;
    if (url) URL.revokeObjectURL(url);
  };
}
