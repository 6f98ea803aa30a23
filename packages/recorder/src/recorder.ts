/**
 * createRecorder: capture from a <canvas> or a MediaStream with
 * MediaRecorder, gather chunks into parts and upload them while recording,
 * then at stop write the Duration into part 1, wait for every part and
 * complete the recording on the service.
 *
 * CanvasRecorder holds what outlives one recording (options resolved once
 * against `defaults`, the API client, listeners, the state, the config
 * cache); each start() makes a new Take (take.ts) that holds everything of
 * that recording.
 *
 * Memory: the bytes not uploaded yet, plus part 1 (kept so its Duration can
 * be written at stop; the first 64 KiB of WebM on the local backend, the
 * 5 MiB minimum on S3).
 */
import { ApiClient } from './api.js';
import { RecorderError } from './errors.js';
import { Emitter, type Listener } from './events.js';
import type { PageExitAction } from './page-exit.js';
import type { PointerInput } from './compositor/pointer.js';
import {
  DEFAULT_MIME_TYPES,
  defaults,
  resolveOptions,
  type RecorderOptions,
  type ResolvedRecorderOptions,
} from './options.js';
import { MarkerQueue } from './markers.js';
import { canStart, canTransition, isCapturing, type RecorderState, type UploadState } from './state.js';
import type { Take } from './take.js';
import type { CompletedPart, Recording, RecordingConfig } from './types.js';

export { DEFAULT_MIME_TYPES, type RecorderOptions } from './options.js';

type Engine = typeof import('./take.js');
let engine: Promise<Engine> | null = null;
/** The engine once loaded: there is a Take only then. */
let loaded: Engine | null = null;
/**
 * The recording engine (take.ts: parts, uploads, tails, the WebM timeline and Duration writer), loaded by the
 * first start() in parallel with its config request: a page that creates a recorder but never records (a
 * record button not pressed, autoRecord waiting) does not download it. Loaded before the recording exists
 * on the service, so nothing of it is fetched at pagehide or at stop. A failed load is tried again next time.
 */
function loadEngine(): Promise<Engine> {
  return (engine ??= import('./take.js')
    .then((m) => (loaded = m))
    .catch((cause) => {
      engine = null;
      throw new RecorderError('network', 'Could not load the recorder code.', { cause });
    }));
}

export interface RecorderProgress {
  /** Bytes of the file so far (the chunks kept, plus the Duration once written). */
  recordedBytes: number;
  /** Bytes stored on the service. Equals recordedBytes once the recording is ready. */
  uploadedBytes: number;
  /** Recorded time, pauses excluded. */
  durationMs: number;
}

export interface RecorderEvents {
  statechange: { state: RecorderState; previous: RecorderState; recording: Recording | null };
  /**
   * Part uploads began to fail before reaching their server ('stalled': an 'error' with code
   * 'upload_blocked' comes with it, naming the origin), or reach it again ('ok'). Retries go on meanwhile.
   */
  uploadstatechange: { uploadState: UploadState };
  progress: RecorderProgress;
  error: RecorderError;
  /** The size limit was reached: capture stopped by itself, and the recording completes with what fits. */
  limit: { recordedBytes: number; maxSizeBytes: number };
  /** Each chunk kept in the recording, in order (for a local preview or backup). */
  chunk: { data: Blob };
  /**
   * Capture began: the moment offset 0 of the recording's time, sent as MediaRecorder starts, before the
   * browser confirms it (the `recording` state follows, 0.2 s to seconds later on a busy machine). What the
   * source shows now is the recording's first frame.
   */
  capture: { recording: Recording };
}

export interface Recorder {
  readonly state: RecorderState;
  /**
   * 'stalled' while part uploads keep failing before reaching their server (network or CORS; see the
   * 'upload_blocked' error), else 'ok'. Beside `state`, not one of its values: capture goes on meanwhile.
   */
  readonly uploadState: UploadState;
  /** The server's recording, once start() has created it. */
  readonly recording: Recording | null;
  /** The type being recorded, once started. */
  readonly mimeType: string | null;
  readonly progress: RecorderProgress;
  on<K extends keyof RecorderEvents>(type: K, fn: Listener<RecorderEvents[K]>): () => void;
  off<K extends keyof RecorderEvents>(type: K, fn: Listener<RecorderEvents[K]>): void;
  /**
   * The service's recording config; RecorderError 'disabled' when recording
   * is off. Cached; `{ fresh: true }` asks the service again (start() always
   * does, so an administrator's change applies to the next recording).
   */
  getConfig(options?: { fresh?: boolean }): Promise<RecordingConfig>;
  /** Resolves once capture runs and the server's recording exists. */
  start(): Promise<Recording>;
  /**
   * Ends capture, uploads what is left, completes; resolves with the ready
   * recording. Transient upload failures are waited out (abort() to give up).
   * If a part failed for good, the recording is completed with the parts
   * stored before it ('error' is emitted); rejects only if nothing could be
   * completed, with the upload's error when that was the cause.
   */
  stop(): Promise<Recording>;
  pause(): void;
  resume(): void;
  /** Discards the recording (the service marks it failed and drops its parts); state becomes idle. */
  abort(): Promise<void>;
  /**
   * Puts a marker at this point of the recording ("file opened", "clipboard"): its offset is the recorded time
   * now, `label` 1-200 characters, `data` any JSON of at most 2 KiB. Sent in batches while recording, best
   * effort. False (nothing kept) when no recording is under way.
   */
  mark(label: string, data?: unknown): boolean;
  /** Sends one JPEG thumbnail at `offsetMs` of the recording under way (the `thumbnails` entry point's upload). */
  putThumbnail(offsetMs: number, jpeg: Blob): Promise<void>;
  /** What is being captured: the canvas (a canvas source, or an element's capture canvas) or the MediaStream; null when idle. */
  readonly captureSource: HTMLCanvasElement | MediaStream | null;
  /**
   * Element sources: the remote pointer as the viewer knows it (position in
   * the element's CSS px, visibility, image and hotspot), drawn instead of
   * the DOM-tracked one until setPointer(null). Kept across recordings.
   */
  setPointer(pointer: PointerInput | null): void;
}

/** The first type of `prefs` that MediaRecorder supports here, or null. */
export function pickMimeType(prefs: readonly string[] = DEFAULT_MIME_TYPES): string | null {
  if (typeof MediaRecorder === 'undefined') return null;
  return prefs.find((t) => MediaRecorder.isTypeSupported(t)) ?? null;
}

/** True when this browser can record a canvas to a type the SDK uploads. */
export function isSupported(mimeTypes: readonly string[] = DEFAULT_MIME_TYPES): boolean {
  return (
    typeof MediaRecorder !== 'undefined' &&
    typeof HTMLCanvasElement !== 'undefined' &&
    typeof HTMLCanvasElement.prototype.captureStream === 'function' &&
    pickMimeType(mimeTypes) !== null
  );
}

export function createRecorder(options: RecorderOptions): Recorder {
  return new CanvasRecorder(options);
}

/** The service refused a part because the recording would pass its size limit (docs/API.md "3. Errors": 413). */
function isPayloadTooLarge(err: RecorderError): boolean {
  return err.serverCode === 'payload_too_large' || err.status === 413;
}

function toRecorderError(err: unknown): RecorderError {
  if (err instanceof RecorderError) return err;
  return new RecorderError('capture', err instanceof Error ? err.message : String(err), { cause: err });
}

class CanvasRecorder implements Recorder {
  private readonly opts: ResolvedRecorderOptions;
  private readonly api: ApiClient;
  private readonly events = new Emitter<RecorderEvents>();
  private currentState: RecorderState = 'idle';
  private currentUpload: UploadState = 'ok';
  private configPromise: Promise<RecordingConfig> | null = null;
  /** The recording under way, or the last one; replaced whole by each start() (null until the engine is loaded). */
  private take: Take | null = null;
  /** Aborts the recording under way, from start() on (before its Take exists). */
  private controller: AbortController | null = null;
  /** Removes the pagehide/visibilitychange listeners of the recording under way. */
  private detachPageExit: (() => void) | null = null;
  /** The markers of the recording under way (mark() and the SDK's lifecycle markers). */
  private marks: MarkerQueue | null = null;
  /** The adapter's pointer (setPointer), handed to each recording's compositor. */
  private pointer: PointerInput | null = null;

  constructor(opts: RecorderOptions) {
    this.opts = resolveOptions(opts);
    this.api = new ApiClient({ baseUrl: opts.baseUrl, getToken: opts.getToken, retry: opts.retry, fetch: opts.fetch });
  }

  get state(): RecorderState {
    return this.currentState;
  }
  get uploadState(): UploadState {
    return this.currentUpload;
  }
  get recording(): Recording | null {
    return this.take?.rec ?? null;
  }
  get mimeType(): string | null {
    return this.take?.type ?? null;
  }
  get progress(): RecorderProgress {
    const take = this.take;
    return {
      recordedBytes: take?.recordedBytes ?? 0,
      uploadedBytes: take?.uploadedBytes ?? 0,
      durationMs: take?.elapsedMs() ?? 0,
    };
  }

  on<K extends keyof RecorderEvents>(type: K, fn: Listener<RecorderEvents[K]>): () => void {
    return this.events.on(type, fn);
  }
  off<K extends keyof RecorderEvents>(type: K, fn: Listener<RecorderEvents[K]>): void {
    this.events.off(type, fn);
  }

  getConfig(options: { fresh?: boolean } = {}): Promise<RecordingConfig> {
    if (!this.configPromise || options.fresh) {
      const p = (this.configPromise = this.api.config());
      // A failure is not cached (and an older call's failure must not drop a newer answer).
      p.catch(() => {
        if (this.configPromise === p) this.configPromise = null;
      });
    }
    return this.configPromise;
  }

  private setState(next: RecorderState): void {
    const previous = this.currentState;
    if (previous === next) return;
    if (!canTransition(previous, next))
      throw new RecorderError('invalid_state', `Cannot go from ${previous} to ${next}.`);
    this.currentState = next;
    if (next === 'ready' || next === 'failed' || next === 'idle') {
      this.detachPageExit?.();
      this.detachPageExit = null;
    }
    this.events.emit('statechange', { state: next, previous, recording: this.recording });
    // Nothing is uploading any more: no stall to report.
    if (next === 'ready' || next === 'failed' || next === 'idle') this.setUploadState(null);
  }

  private setUploadState(blocked: RecorderError | null): void {
    const next = blocked ? 'stalled' : 'ok';
    if (this.currentUpload === next) return;
    this.currentUpload = next;
    this.events.emit('uploadstatechange', { uploadState: next });
    if (blocked) this.events.emit('error', blocked);
  }

  private emitProgress(): void {
    const p = this.progress;
    // Once ready, the duration is the one sent to the service.
    const rec = this.take?.rec;
    if (this.currentState === 'ready' && rec?.durationMs != null) p.durationMs = rec.durationMs;
    this.events.emit('progress', p);
  }

  async start(): Promise<Recording> {
    if (!canStart(this.currentState)) {
      throw new RecorderError('invalid_state', `start() is not allowed while ${this.currentState}.`);
    }
    // A new Take (once the engine is loaded): nothing of the last recording carries over.
    this.take = null;
    let made: Take | null = null;
    const controller = (this.controller = new AbortController());
    void this.marks?.close();
    const marks = (this.marks = new MarkerQueue(
      this.api,
      () => made?.rec?.id,
      () => made?.elapsedMs() ?? 0,
    ));
    this.setState('starting');
    const signal = controller.signal;
    try {
      const type = pickMimeType(this.opts.mimeTypes);
      if (!type || typeof MediaRecorder === 'undefined') {
        throw new RecorderError(
          'unsupported',
          'This browser cannot record video with MediaRecorder in any of the requested types.',
        );
      }
      // Fresh each time: a long-lived page must see the current switch and limits.
      const [config, { Take }] = await Promise.all([this.getConfig({ fresh: true }), loadEngine()]);
      if (signal.aborted) throw new RecorderError('aborted', 'start() was aborted.');
      const take = (made = this.take = new Take(this.api, this.opts, controller));
      if (!config.enabled) throw new RecorderError('disabled', 'Video recording is disabled on this service.');
      // The page's choice, else the administrator's (config), else the SDK's.
      const frameRate = this.opts.frameRate ?? config.frameRate ?? defaults.frameRate;
      const stream = await take.captureStream(frameRate, this.pointer);
      take.plan(config, type);
      await take.loadTails();
      const { endUrl, partsUrl, ...created } = await this.api.createRecording(
        { sessionId: this.opts.sessionId, mimeType: type },
        signal,
      );
      take.rec = created;
      take.endUrl = endUrl ?? null;
      take.partsUrl = partsUrl ?? null;
      take.type = type;
      this.attachPageExit(take);
      take.openUploader({
        onProgress: () => this.emitProgress(),
        onFatal: (err) => {
          if (!signal.aborted) this.onUploadFailure(take, err);
        },
        onStall: (blocked) => {
          if (this.take === take && !signal.aborted) this.setUploadState(blocked);
        },
      });
      const media = (take.media = new MediaRecorder(stream, {
        mimeType: type,
        videoBitsPerSecond: this.opts.videoBitsPerSecond ?? config.videoBitsPerSecond ?? defaults.videoBitsPerSecond,
      }));
      media.addEventListener('dataavailable', (e) => this.onChunk(take, e.data));
      const captureError = (e: Event) => {
        const cause = (e as Event & { error?: unknown }).error;
        return new RecorderError(
          'capture',
          `MediaRecorder failed: ${cause instanceof Error ? cause.message : 'unknown error'}.`,
          { cause },
        );
      };
      // MediaRecorder stops itself after an error, or when the source's tracks end (a screen share
      // stopped): what it captured is valid, so finish and complete with it instead of discarding it.
      media.addEventListener('error', (e) => {
        if (this.take !== take || !isCapturing(this.currentState)) return;
        take.captureFailure = captureError(e);
        this.stop().catch(() => {});
      });
      media.addEventListener('stop', () => {
        if (this.take === take && !take.stopping && isCapturing(this.currentState)) this.stop().catch(() => {});
      });
      // The page's clock (the markers' offsets, the elapsed time) starts when capture does: the media's time
      // runs from start(), and its 'start' event came 0.2-0.7 s later (e2e player.spec.ts, lifecycle markers,
      // quiet and under load), which put every marker that far before its moment in the video.
      let startedAt = 0;
      await new Promise<void>((resolve, reject) => {
        media.addEventListener('start', () => resolve(), { once: true });
        media.addEventListener('error', (e) => reject(captureError(e)), { once: true });
        try {
          startedAt = performance.now();
          media.start(take.timesliceMs());
          this.events.emit('capture', { recording: take.rec! });
        } catch (err) {
          reject(err);
        }
      });
      take.markStarted(startedAt);
      if (signal.aborted) throw new RecorderError('aborted', 'start() was aborted.');
      this.setState('recording');
      marks.add('started', 'sdk');
      void marks.flush();
      // A part that failed for good before capture counted as running could not stop it then.
      if (take.uploadFailure) this.onUploadFailure(take, take.uploadFailure);
      return take.rec;
    } catch (err) {
      const e = toRecorderError(err);
      if (signal.aborted) throw new RecorderError('aborted', 'start() was aborted.', { cause: err });
      const rec = (made as Take | null)?.rec;
      if (rec)
        void this.api.failRecording(rec.id, `The browser could not start recording: ${e.message}`).catch(() => {});
      this.failWith(e);
      throw e;
    }
  }

  /** Listens for the page going away while this recording is open (page-exit.ts says what each case does). */
  private attachPageExit(take: Take): void {
    this.detachPageExit?.();
    this.detachPageExit = null;
    if (typeof window === 'undefined' || typeof document === 'undefined') return;
    const { pageHideAction, sendEndBeacon, visibilityAction } = loaded!;
    const act = (action: PageExitAction) => {
      if (this.take !== take || action === 'none') return;
      // The beacon first: the least work between pagehide and the one request that must leave.
      if (action === 'end' && take.endUrl) {
        sendEndBeacon(take.endUrl);
        take.endUrl = null; // once
      }
      // The buffered chunks become a part now (best effort: its URL request may not outlive the page).
      take.closeByTime();
    };
    const onPageHide = (e: PageTransitionEvent) =>
      act(pageHideAction(e.persisted, this.currentState, take.endUrl !== null));
    const onVisibility = () => act(visibilityAction(document.visibilityState === 'hidden', this.currentState));
    window.addEventListener('pagehide', onPageHide);
    document.addEventListener('visibilitychange', onVisibility);
    this.detachPageExit = () => {
      window.removeEventListener('pagehide', onPageHide);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }

  private onChunk(take: Take, data: Blob): void {
    // A chunk of an earlier recording's MediaRecorder is not this recording's.
    if (take !== this.take) return;
    const verdict = take.keep(data);
    if (verdict === 'ignored') return;
    if (verdict === 'dropped') {
      this.limitReached(take);
      return;
    }
    this.events.emit('chunk', { data });
    if (verdict === 'kept-full') this.limitReached(take);
    this.emitProgress();
  }

  /**
   * A part failed for good (a 4xx other than 401/403, a 413, or the memory
   * cap). Nothing is thrown away: capture stops and finish() completes the
   * recording with the stored prefix of parts.
   */
  private onUploadFailure(take: Take, err: RecorderError): void {
    if (take !== this.take) return;
    take.uploadFailure = err;
    if (isPayloadTooLarge(err)) {
      // API.md: the parts stored stay and the client may still complete; the same as reaching the limit.
      take.full = true;
      this.limitReached(take);
      return;
    }
    // When already stopping, finish() sees the failure through uploader.finish().
    if (isCapturing(this.currentState)) this.stop().catch(() => {});
  }

  private limitReached(take: Take): void {
    if (!isCapturing(this.currentState)) return;
    take.limitReached = true;
    this.marks?.add('size limit reached', 'sdk');
    this.events.emit('limit', { recordedBytes: take.recordedBytes, maxSizeBytes: take.maxSizeBytes });
    // Errors surface through 'error' and the state; nobody awaits this stop.
    this.stop().catch(() => {});
  }

  pause(): void {
    if (this.currentState !== 'recording')
      throw new RecorderError('invalid_state', `pause() is not allowed while ${this.currentState}.`);
    const take = this.take!;
    // First: the take asks MediaRecorder for what it holds while it still records.
    take.markPaused();
    take.media!.pause();
    this.setState('paused');
  }

  resume(): void {
    if (this.currentState !== 'paused')
      throw new RecorderError('invalid_state', `resume() is not allowed while ${this.currentState}.`);
    const take = this.take!;
    take.media!.resume();
    take.markResumed();
    this.setState('recording');
  }

  stop(): Promise<Recording> {
    const take = this.take;
    if (take?.stopping && (this.currentState === 'stopping' || this.currentState === 'uploading')) return take.stopping;
    if (!take || !isCapturing(this.currentState)) {
      return Promise.reject(new RecorderError('invalid_state', `stop() is not allowed while ${this.currentState}.`));
    }
    take.stopping = this.finish(take);
    return take.stopping;
  }

  private async finish(take: Take): Promise<Recording> {
    take.markStopped();
    this.setState('stopping');
    // Sent while the last parts go up; the service takes markers in any state.
    this.marks?.add('stopped', 'sdk');
    void this.marks?.close();
    const rec = take.rec!;
    const uploader = take.uploader!;
    const signal = take.controller.signal;
    try {
      await take.endCapture();
      if (signal.aborted) throw new RecorderError('aborted', 'The recording was aborted.');
      this.setState('uploading');
      // Tells the service capture ended (API.md: optional); a failure here must not lose the recording.
      await this.api.stopRecording(rec.id, signal).catch(() => {});
      let durationMs = await take.sendLastPart();
      let parts: CompletedPart[];
      try {
        await uploader.finish();
        // Part 1 went up during capture, before the length was known: send it again with the Duration.
        const sealed = await take.sealFirstPart(durationMs);
        if (sealed) uploader.enqueue(sealed);
        parts = await uploader.finish();
      } catch (err) {
        if (signal.aborted) throw err;
        take.uploadFailure ??= toRecorderError(err);
        ({ parts, durationMs } = await take.storedPrefix());
      }
      take.forgetFirstPart();
      if (parts.length === 0) {
        await this.api.failRecording(rec.id, 'Nothing was recorded.', signal).catch(() => {});
        throw (
          take.uploadFailure ?? new RecorderError('capture', 'Nothing was recorded: MediaRecorder produced no data.')
        );
      }
      try {
        take.rec = await this.api.completeRecording(
          rec.id,
          { durationMs, parts, ...(take.limitReached ? { endedBy: 'size_limit' as const } : {}) },
          signal,
        );
      } catch (err) {
        // The root cause is what the caller needs to hear, not the complete that followed it.
        throw take.uploadFailure ?? err;
      }
      this.setState('ready');
      this.emitProgress();
      // Kept what was stored, but the recording is shorter than what was captured: say why.
      if (take.uploadFailure && !isPayloadTooLarge(take.uploadFailure)) this.events.emit('error', take.uploadFailure);
      if (take.captureFailure) this.events.emit('error', take.captureFailure);
      return take.rec;
    } catch (err) {
      const e = toRecorderError(err);
      if (!signal.aborted) this.failWith(e);
      throw e;
    }
  }

  private failWith(err: RecorderError): void {
    if (this.currentState === 'failed' || this.currentState === 'idle') return;
    // Parts still in flight are stopped; those stored stay on the service (its sweeper finalizes them).
    this.take?.tearDown();
    this.setState('failed');
    this.events.emit('error', err);
  }

  setPointer(pointer: PointerInput | null): void {
    this.pointer = pointer;
    this.take?.compositor?.setPointer(pointer);
  }

  mark(label: string, data?: unknown): boolean {
    if (!this.marks || !(isCapturing(this.currentState) || this.currentState === 'starting')) return false;
    this.marks.add(label, 'app', data);
    return true;
  }

  putThumbnail(offsetMs: number, jpeg: Blob): Promise<void> {
    const id = this.take?.rec?.id;
    if (!id) return Promise.reject(new RecorderError('invalid_state', 'No recording is under way.'));
    return loaded!.putThumbnail(this.api, id, offsetMs, jpeg);
  }

  get captureSource(): HTMLCanvasElement | MediaStream | null {
    if (!(isCapturing(this.currentState) || this.currentState === 'starting')) return null;
    // An element source is recorded from its compositor's canvas (once made).
    const composed = (this.take as { compositor?: { canvas: HTMLCanvasElement } | null } | null)?.compositor?.canvas;
    const src = this.opts.source;
    return composed ?? (src instanceof HTMLCanvasElement || src instanceof MediaStream ? src : null);
  }

  async abort(): Promise<void> {
    const state = this.currentState;
    if (state === 'idle' || state === 'ready') return;
    const take = this.take;
    take?.tearDown();
    this.controller?.abort(); // start() still loading the engine: no Take yet
    const rec = take?.rec;
    // From 'failed' too: the parts stored would otherwise be finalized by the sweeper, though the user discarded them.
    if (rec && rec.status !== 'ready') await this.api.failRecording(rec.id, 'Aborted by the user.').catch(() => {});
    this.setState('idle');
  }
}
