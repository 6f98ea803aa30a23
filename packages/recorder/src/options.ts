/**
 * The recorder's options and their defaults. Every default lives in
 * `defaults`, and createRecorder resolves the caller's options against it
 * once (as Uppy does with its `defaultOptions`), so no other module carries
 * its own fallback for an option.
 */
import type { RetryOptions } from './retry.js';
import type { TokenSource } from './types.js';

// Defined here, not beside the part gatherer and uploader that use them: those load only when a recording
// starts (recorder.ts), and the options are resolved when the recorder is created.
/** Default wish for the part size: few enough requests, little held in memory. */
export const DEFAULT_PART_SIZE_BYTES = 1024 * 1024;
/** Default memory cap on bytes not uploaded yet: a few minutes of outage at the default bitrate (~19 MB a minute). */
export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024;

/** WebM types in order of preference: VP9 compresses best, VP8 plays everywhere. */
export const DEFAULT_MIME_TYPES: readonly string[] = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

export interface RecorderOptions {
  /**
   * What to record: a canvas (captured with `captureStream(frameRate)`), any
   * MediaStream (a screen share), or an element: every visible canvas inside
   * it and the pointer, composited into one picture the size of the element
   * (noVNC's target, Guacamole's `display.getElement()`; see the README,
   * "Recording an element"). The compositor is loaded on demand.
   */
  source: HTMLCanvasElement | MediaStream | HTMLElement;
  /** The session this recording belongs to (stored as `sessionId`). */
  sessionId: string;
  /** Origin of the Sortie Recording service. Default: the page's origin. */
  baseUrl?: string;
  /** The bearer token, or a function giving it; called again after a 401. */
  getToken: TokenSource;
  /** Container/codec preference list; the first the browser supports is used. Default: DEFAULT_MIME_TYPES. */
  mimeTypes?: readonly string[];
  /**
   * Frames per second captured from a canvas or an element. Default: the
   * service's (`frameRate` of GET /api/recordings/config, set by
   * SORTIE_RECORDING_FRAME_RATE), else 15. Ignored for a MediaStream.
   */
  frameRate?: number;
  /**
   * Encoder bitrate, bits per second. Default: the service's
   * (`videoBitsPerSecond`, set by SORTIE_RECORDING_VIDEO_BITRATE_KBPS), else
   * 1_500_000.
   */
  videoBitsPerSecond?: number;
  /**
   * Draw the pointer into the recording (element sources only): the CSS
   * cursor at the pointer's position over the element, or what
   * `recorder.setPointer()` hands over. Default true.
   */
  cursor?: boolean;
  /**
   * MediaRecorder timeslice: how often a chunk is handed over, in ms. Default 1000; at most maxLagMs/2.
   * A wish only (Safari hands WebM over in ~10 s segments whatever it asks): maxLagMs holds without it.
   */
  timesliceMs?: number;
  /**
   * The most recorded media, in ms, held only in this tab (plus one upload
   * in flight). Default 2000. Where parts may be any size (the local
   * backend) a part is sent once it holds `partSizeBytes` or once its oldest
   * byte is this old, whichever comes first. On S3 parts are at least 5 MiB
   * and go by size only (the tail objects of docs/bounded-loss.md are not
   * built yet), so more can be held there. See the README, "What is at risk".
   */
  maxLagMs?: number;
  /**
   * Wished part size in bytes. Default 1 MiB. Raised to the service's
   * `minPartSizeBytes` (5 MiB on S3) and as needed to fit `maxParts`.
   */
  partSizeBytes?: number;
  /** Part PUTs in flight at once. Default 3. */
  concurrency?: number;
  /** A size limit below the service's, in bytes. Default: the service's `maxSizeBytes`. */
  maxSizeBytes?: number;
  /**
   * Retry policy. API calls: 8 attempts by default, backoff 0.5 s doubling to
   * 15 s, with jitter. Part uploads use the same backoff but no attempt limit
   * for network errors, 5xx, 408 and 429: they are bounded by `maxUnsentBytes`.
   */
  retry?: RetryOptions;
  /**
   * Memory cap on recorded bytes not uploaded yet, in bytes. Default 256 MiB.
   * While uploads fail transiently (an outage), parts wait in memory and are
   * retried; once this cap would be passed, capture stops and the recording
   * completes with the parts already stored.
   */
  maxUnsentBytes?: number;
  /** fetch to use. Default: globalThis.fetch. */
  fetch?: typeof fetch;
}

/** The options that take a value from `defaults` in resolveOptions. */
type Defaulted =
  'mimeTypes' | 'timesliceMs' | 'maxLagMs' | 'partSizeBytes' | 'concurrency' | 'maxSizeBytes' | 'maxUnsentBytes';

export type ResolvedRecorderOptions = Omit<RecorderOptions, Defaulted> & Required<Pick<RecorderOptions, Defaulted>>;

/**
 * The defaults of RecorderOptions. Not here: `baseUrl`, `retry` and `fetch`
 * go as given to ApiClient, whose defaults are the page's origin,
 * RETRY_DEFAULTS (8 attempts, 0.5 s doubling to 15 s) and globalThis.fetch.
 */
export const defaults: Readonly<Required<Pick<RecorderOptions, Defaulted | FromService>>> = Object.freeze({
  /** The first of these MediaRecorder supports is recorded: VP9, then VP8, then any WebM. */
  mimeTypes: DEFAULT_MIME_TYPES,
  /**
   * 15 fps, when the service names none: a desktop changes by typing,
   * scrolling and dragging, readable at 15 fps for half the encoder work of 30.
   */
  frameRate: 15,
  /**
   * 1.5 Mbit/s, when the service names none: sharp text at 1080p, about
   * 11 MB a minute at most (a still desktop uses far less).
   */
  videoBitsPerSecond: 1_500_000,
  /** A chunk a second: little is lost if the tab dies, few small parts. */
  timesliceMs: 1000,
  /**
   * 2 s held only in the tab at most (local backend): a closed or crashed tab
   * loses about that much; a part every 2 s at low bitrates is two requests
   * (URL + PUT), one request a second.
   */
  maxLagMs: 2000,
  /** 1 MiB: few requests, little held in memory (raised to the service's minimum and to fit maxParts). */
  partSizeBytes: DEFAULT_PART_SIZE_BYTES,
  /** Part PUTs in flight at once. */
  concurrency: 3,
  /** No limit of the caller's own: the service's maxSizeBytes applies. */
  maxSizeBytes: Infinity,
  /** 256 MiB not uploaded yet: a few minutes of outage at the default bitrate. */
  maxUnsentBytes: DEFAULT_MAX_PENDING_BYTES,
});

/**
 * Options whose default is the service's (GET /api/recordings/config), then
 * `defaults`: left unresolved here, settled at start() once the config is read.
 */
type FromService = 'frameRate' | 'videoBitsPerSecond';
const FROM_SERVICE: readonly string[] = ['frameRate', 'videoBitsPerSecond'] satisfies FromService[];

/** The caller's options over `defaults`; an option given as undefined takes its default too. */
export function resolveOptions(opts: RecorderOptions): ResolvedRecorderOptions {
  const out: Record<string, unknown> = { ...opts };
  for (const [key, value] of Object.entries(defaults))
    if (out[key] === undefined && !FROM_SERVICE.includes(key)) out[key] = value;
  return out as ResolvedRecorderOptions;
}
