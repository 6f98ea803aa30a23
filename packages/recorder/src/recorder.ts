/**
 * createRecorder: capture from a <canvas> or a MediaStream with
 * MediaRecorder, gather chunks into parts and upload them while recording,
 * then at stop write the Duration into part 1, wait for every part and
 * complete the recording on the service.
 *
 * Memory: the bytes not uploaded yet, plus part 1 (kept so its Duration can
 * be written at stop; the first 64 KiB of WebM on the local backend, the
 * 5 MiB minimum on S3).
 */
import { ApiClient } from './api.js';
import { RecorderError } from './errors.js';
import { Emitter, type Listener } from './events.js';
import { DEFAULT_PART_SIZE_BYTES, PartGatherer, planParts, type Part } from './part-gatherer.js';
import type { RetryOptions } from './retry.js';
import { canStart, canTransition, isCapturing, type RecorderState } from './state.js';
import type { CompletedPart, Recording, RecordingConfig, TokenSource } from './types.js';
import { Uploader } from './uploader.js';
import { setWebmDuration } from './webm-duration.js';
import { WebmTimeline } from './webm-timeline.js';

/** WebM types in order of preference: VP9 compresses best, VP8 plays everywhere. */
export const DEFAULT_MIME_TYPES: readonly string[] = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

/**
 * Bytes kept free under the size limit for the Duration written into part 1
 * at stop (11 bytes, plus a wider Info size field in the worst case).
 */
export const DURATION_RESERVE_BYTES = 64;

/**
 * How much of part 1 is read to write the Duration (Info sits in the first
 * few hundred bytes). Part 1 of a WebM recording holds at least this much
 * (planParts' headBytes), so the head read is the file's head.
 */
const HEAD_BYTES = 64 * 1024;

export interface RecorderOptions {
  /** What to record: a canvas (captured with `captureStream(frameRate)`) or any MediaStream. */
  source: HTMLCanvasElement | MediaStream;
  /** The session this recording belongs to (stored as `sessionId`). */
  sessionId: string;
  /** Origin of the Sortie Recording service. Default: the page's origin. */
  baseUrl?: string;
  /** The bearer token, or a function giving it; called again after a 401. */
  getToken: TokenSource;
  /** Container/codec preference list; the first the browser supports is used. Default: DEFAULT_MIME_TYPES. */
  mimeTypes?: readonly string[];
  /** Frames per second captured from a canvas. Default 30. Ignored for a MediaStream. */
  frameRate?: number;
  /** Encoder bitrate. Default 2_500_000 (2.5 Mbit/s: sharp for UI, about 19 MB a minute at most). */
  videoBitsPerSecond?: number;
  /** MediaRecorder timeslice: how often a chunk is handed over, in ms. Default 1000. */
  timesliceMs?: number;
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
  progress: RecorderProgress;
  error: RecorderError;
  /** The size limit was reached: capture stopped by itself, and the recording completes with what fits. */
  limit: { recordedBytes: number; maxSizeBytes: number };
  /** Each chunk kept in the recording, in order (for a local preview or backup). */
  chunk: { data: Blob };
}

export interface Recorder {
  readonly state: RecorderState;
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
  private readonly opts: RecorderOptions;
  private readonly api: ApiClient;
  private readonly events = new Emitter<RecorderEvents>();
  private currentState: RecorderState = 'idle';
  private configPromise: Promise<RecordingConfig> | null = null;

  // Per recording:
  private rec: Recording | null = null;
  private type: string | null = null;
  private media: MediaRecorder | null = null;
  private ownedStream: MediaStream | null = null;
  private gatherer: PartGatherer | null = null;
  private uploader: Uploader | null = null;
  private firstPart: Part | null = null;
  private firstPartFinal = false;
  private controller: AbortController | null = null;
  private stopping: Promise<Recording> | null = null;
  private recordedBytes = 0;
  /** Sizes of the last few chunks: the margin kept under the limit for the chunk still to come. */
  private recentChunks: number[] = [];
  private limitBytes = Infinity;
  private maxSizeBytes = Infinity;
  private full = false;
  private startedAt = 0;
  private pausedAt: number | null = null;
  private pausedTotal = 0;
  private stoppedAt: number | null = null;
  private keptUntilMs = 0;
  /** Recorded time (page clock) at the end of each part: the duration of a recording cut after that part. */
  private partEndMs = new Map<number, number>();
  /** The media's own time, read from the kept chunks (WebM only); preferred over the page clock. */
  private timeline: WebmTimeline | null = null;
  /** The chunks fed to `timeline` so far, in order. */
  private timelineRead: Promise<void> = Promise.resolve();
  /** Media time at the end of each part, from `timeline`. */
  private partMediaEndMs = new Map<number, number>();
  /** Why uploading failed for good, when it did. */
  private uploadFailure: RecorderError | null = null;
  /** MediaRecorder's error, when capture ended because of one. */
  private captureFailure: RecorderError | null = null;
  /** Bytes of the file that was completed, once it is a stored prefix only. */
  private completedBytes: number | null = null;

  constructor(opts: RecorderOptions) {
    this.opts = opts;
    this.api = new ApiClient({ baseUrl: opts.baseUrl, getToken: opts.getToken, retry: opts.retry, fetch: opts.fetch });
  }

  get state(): RecorderState {
    return this.currentState;
  }
  get recording(): Recording | null {
    return this.rec;
  }
  get mimeType(): string | null {
    return this.type;
  }
  get progress(): RecorderProgress {
    return { recordedBytes: this.recordedBytes, uploadedBytes: this.completedBytes ?? this.uploader?.uploadedBytes ?? 0, durationMs: this.elapsedMs() };
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
    if (!canTransition(previous, next)) throw new RecorderError('invalid_state', `Cannot go from ${previous} to ${next}.`);
    this.currentState = next;
    this.events.emit('statechange', { state: next, previous, recording: this.rec });
  }

  /** Recorded time, pauses excluded, frozen at stop. */
  private elapsedMs(): number {
    if (!this.startedAt) return 0;
    const now = this.stoppedAt ?? performance.now();
    const paused = this.pausedTotal + (this.pausedAt !== null ? now - this.pausedAt : 0);
    return Math.max(0, Math.round(now - this.startedAt - paused));
  }

  private emitProgress(): void {
    const p = this.progress;
    // Once ready, the duration is the one sent to the service.
    if (this.currentState === 'ready' && this.rec?.durationMs != null) p.durationMs = this.rec.durationMs;
    this.events.emit('progress', p);
  }

  private reset(): void {
    this.rec = null;
    this.type = null;
    this.media = null;
    this.ownedStream = null;
    this.gatherer = null;
    this.uploader = null;
    this.firstPart = null;
    this.firstPartFinal = false;
    this.stopping = null;
    this.recordedBytes = 0;
    this.recentChunks = [];
    this.full = false;
    this.startedAt = 0;
    this.pausedAt = null;
    this.pausedTotal = 0;
    this.stoppedAt = null;
    this.keptUntilMs = 0;
    this.partEndMs = new Map();
    this.timeline = null;
    this.timelineRead = Promise.resolve();
    this.partMediaEndMs = new Map();
    this.uploadFailure = null;
    this.captureFailure = null;
    this.completedBytes = null;
  }

  async start(): Promise<Recording> {
    if (!canStart(this.currentState)) {
      throw new RecorderError('invalid_state', `start() is not allowed while ${this.currentState}.`);
    }
    this.reset();
    this.setState('starting');
    const controller = (this.controller = new AbortController());
    try {
      const type = pickMimeType(this.opts.mimeTypes);
      if (!type || typeof MediaRecorder === 'undefined') {
        throw new RecorderError('unsupported', 'This browser cannot record video with MediaRecorder in any of the requested types.');
      }
      // Fresh each time: a long-lived page must see the current switch and limits.
      const config = await this.getConfig({ fresh: true });
      if (!config.enabled) throw new RecorderError('disabled', 'Video recording is disabled on this service.');
      const stream = this.captureStream();
      this.maxSizeBytes = Math.min(config.maxSizeBytes, this.opts.maxSizeBytes ?? Infinity);
      this.limitBytes = this.maxSizeBytes - DURATION_RESERVE_BYTES;
      const webm = type.startsWith('video/webm');
      this.gatherer = new PartGatherer(planParts(config, this.opts.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES, webm ? HEAD_BYTES : 0), type);
      this.timeline = webm ? new WebmTimeline() : null;
      this.rec = await this.api.createRecording({ sessionId: this.opts.sessionId, mimeType: type }, controller.signal);
      this.type = type;
      this.uploader = new Uploader({
        api: this.api,
        recordingId: this.rec.id,
        concurrency: this.opts.concurrency,
        retry: this.opts.retry,
        maxPendingBytes: this.opts.maxUnsentBytes,
        onProgress: () => this.emitProgress(),
        onFatal: (err) => {
          if (!controller.signal.aborted) this.onUploadFailure(err);
        },
      });
      const media = (this.media = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: this.opts.videoBitsPerSecond ?? 2_500_000 }));
      media.addEventListener('dataavailable', (e) => this.onChunk(e.data));
      const captureError = (e: Event) => {
        const cause = (e as Event & { error?: unknown }).error;
        return new RecorderError('capture', `MediaRecorder failed: ${cause instanceof Error ? cause.message : 'unknown error'}.`, { cause });
      };
      // MediaRecorder stops itself after an error, or when the source's tracks end (a screen share
      // stopped): what it captured is valid, so finish and complete with it instead of discarding it.
      media.addEventListener('error', (e) => {
        if (this.media !== media || !isCapturing(this.currentState)) return;
        this.captureFailure = captureError(e);
        this.stop().catch(() => {});
      });
      media.addEventListener('stop', () => {
        if (this.media === media && !this.stopping && isCapturing(this.currentState)) this.stop().catch(() => {});
      });
      await new Promise<void>((resolve, reject) => {
        media.addEventListener('start', () => resolve(), { once: true });
        media.addEventListener('error', (e) => reject(captureError(e)), { once: true });
        try {
          media.start(this.opts.timesliceMs ?? 1000);
        } catch (err) {
          reject(err);
        }
      });
      this.startedAt = performance.now();
      if (controller.signal.aborted) throw new RecorderError('aborted', 'start() was aborted.');
      this.setState('recording');
      // A part that failed for good before capture counted as running could not stop it then.
      if (this.uploadFailure) this.onUploadFailure(this.uploadFailure);
      return this.rec;
    } catch (err) {
      const e = toRecorderError(err);
      if (controller.signal.aborted) throw new RecorderError('aborted', 'start() was aborted.', { cause: err });
      if (this.rec) void this.api.failRecording(this.rec.id, `The browser could not start recording: ${e.message}`).catch(() => {});
      this.failWith(e);
      throw e;
    }
  }

  private captureStream(): MediaStream {
    const src = this.opts.source;
    if (typeof MediaStream !== 'undefined' && src instanceof MediaStream) return src;
    const canvas = src as HTMLCanvasElement;
    if (typeof canvas.captureStream !== 'function') throw new RecorderError('unsupported', 'This browser cannot capture a canvas (no captureStream).');
    // A stream we made is ours to end at stop; a caller's MediaStream is not.
    this.ownedStream = canvas.captureStream(this.opts.frameRate ?? 30);
    return this.ownedStream;
  }

  private onChunk(data: Blob): void {
    if (data.size === 0 || !this.gatherer || !this.uploader || this.controller?.signal.aborted) return;
    // Once a chunk is dropped for the limit, every later one is too: the file must not have a hole.
    if (this.full || this.recordedBytes + data.size > this.limitBytes) {
      this.full = true;
      this.limitReached();
      return;
    }
    const before = this.recordedBytes;
    this.recordedBytes += data.size;
    // The file's start (headers and the first keyframe) is far larger than what follows: judge by later
    // chunks. Not "the first chunk": Chromium can hand over a first chunk of one byte, and then the
    // keyframe, with whatever was encoded while the page was busy, in the second.
    if (before >= HEAD_BYTES) this.recentChunks.push(data.size);
    if (this.recentChunks.length > 4) this.recentChunks.shift();
    this.keptUntilMs = this.elapsedMs();
    this.events.emit('chunk', { data });
    const part = this.gatherer.push(data);
    this.follow(data, part?.partNumber ?? null);
    if (part) {
      this.partEndMs.set(part.partNumber, this.keptUntilMs);
      this.sendPart(part);
    }
    // Stop while one more chunk half again as large as the recent ones still fits: the last chunk, which
    // comes after stop(), covers at most one timeslice. Should it not fit, it is dropped (see above) and
    // the file ends at the previous chunk.
    if (this.recordedBytes + 1.5 * Math.max(0, ...this.recentChunks) > this.limitBytes) this.limitReached();
    this.emitProgress();
  }

  /** Feeds a kept chunk to the timeline, in order; `closes`: the part it closed, whose media end is noted. */
  private follow(data: Blob, closes: number | null): void {
    const timeline = this.timeline;
    if (!timeline) return;
    this.timelineRead = this.timelineRead.then(async () => {
      try {
        if (timeline.ok) timeline.push(new Uint8Array(await data.arrayBuffer()));
      } catch {
        timeline.giveUp();
      }
      const end = timeline.endMs;
      if (closes !== null && end !== null) this.partMediaEndMs.set(closes, end);
    });
  }

  /**
   * The recorded duration: the media's own time when the timeline could
   * read it, else the page's clock (pauses excluded). `afterPart`: of the
   * parts up to that one only.
   */
  private async durationMs(afterPart?: number): Promise<number> {
    const timeline = this.timeline;
    await this.timelineRead;
    const media = afterPart === undefined ? timeline?.endMs : this.partMediaEndMs.get(afterPart);
    if (media != null) return Math.round(media);
    return afterPart === undefined ? this.keptUntilMs : (this.partEndMs.get(afterPart) ?? 0);
  }

  private sendPart(part: Part): void {
    if (part.partNumber === 1) this.firstPart = part;
    this.uploader!.enqueue(part);
  }

  /**
   * A part failed for good (a 4xx other than 401/403, a 413, or the memory
   * cap). Nothing is thrown away: capture stops and finish() completes the
   * recording with the stored prefix of parts.
   */
  private onUploadFailure(err: RecorderError): void {
    this.uploadFailure = err;
    if (isPayloadTooLarge(err)) {
      // docs/API.md: the parts stored stay and the client may still complete; the same as reaching the limit.
      this.full = true;
      this.limitReached();
      return;
    }
    // When already stopping, finish() sees the failure through uploader.finish().
    if (isCapturing(this.currentState)) this.stop().catch(() => {});
  }

  private limitReached(): void {
    if (!isCapturing(this.currentState)) return;
    this.events.emit('limit', { recordedBytes: this.recordedBytes, maxSizeBytes: this.maxSizeBytes });
    // Errors surface through 'error' and the state; nobody awaits this stop.
    this.stop().catch(() => {});
  }

  pause(): void {
    if (this.currentState !== 'recording') throw new RecorderError('invalid_state', `pause() is not allowed while ${this.currentState}.`);
    this.media!.pause();
    this.pausedAt = performance.now();
    this.setState('paused');
  }

  resume(): void {
    if (this.currentState !== 'paused') throw new RecorderError('invalid_state', `resume() is not allowed while ${this.currentState}.`);
    this.media!.resume();
    if (this.pausedAt !== null) this.pausedTotal += performance.now() - this.pausedAt;
    this.pausedAt = null;
    this.setState('recording');
  }

  stop(): Promise<Recording> {
    if (this.stopping && (this.currentState === 'stopping' || this.currentState === 'uploading')) return this.stopping;
    if (!isCapturing(this.currentState)) {
      return Promise.reject(new RecorderError('invalid_state', `stop() is not allowed while ${this.currentState}.`));
    }
    this.stopping = this.finish();
    return this.stopping;
  }

  private async finish(): Promise<Recording> {
    this.stoppedAt = performance.now();
    this.setState('stopping');
    const rec = this.rec!;
    const uploader = this.uploader!;
    const signal = this.controller!.signal;
    try {
      await this.endCapture();
      if (signal.aborted) throw new RecorderError('aborted', 'The recording was aborted.');
      this.setState('uploading');
      // Tells the service capture ended (docs/API.md: optional); a failure here must not lose the recording.
      await this.api.stopRecording(rec.id, signal).catch(() => {});
      const last = this.gatherer!.flush();
      let durationMs = await this.durationMs();
      if (last) {
        this.partEndMs.set(last.partNumber, durationMs);
        this.partMediaEndMs.set(last.partNumber, durationMs);
        // A recording of one part: write the Duration before its first (and only) upload.
        this.sendPart(last.partNumber === 1 ? await this.withDuration(last, durationMs) : last);
        if (last.partNumber === 1) this.firstPartFinal = true;
      }
      let parts: CompletedPart[];
      try {
        await uploader.finish();
        if (this.firstPart && !this.firstPartFinal) {
          // Part 1 went up during capture, before the length was known: send it again with the Duration.
          const patched = await this.withDuration(this.firstPart, durationMs);
          if (patched !== this.firstPart) uploader.enqueue(patched);
          this.firstPartFinal = true;
        }
        parts = await uploader.finish();
      } catch (err) {
        if (signal.aborted) throw err;
        this.uploadFailure ??= toRecorderError(err);
        ({ parts, durationMs } = await this.storedPrefix(uploader, rec.id));
      }
      this.firstPart = null;
      if (parts.length === 0) {
        await this.api.failRecording(rec.id, 'Nothing was recorded.', signal).catch(() => {});
        throw this.uploadFailure ?? new RecorderError('capture', 'Nothing was recorded: MediaRecorder produced no data.');
      }
      try {
        this.rec = await this.api.completeRecording(rec.id, { durationMs, parts }, signal);
      } catch (err) {
        // The root cause is what the caller needs to hear, not the complete that followed it.
        throw this.uploadFailure ?? err;
      }
      this.setState('ready');
      this.emitProgress();
      // Kept what was stored, but the recording is shorter than what was captured: say why.
      if (this.uploadFailure && !isPayloadTooLarge(this.uploadFailure)) this.events.emit('error', this.uploadFailure);
      if (this.captureFailure) this.events.emit('error', this.captureFailure);
      return this.rec;
    } catch (err) {
      const e = toRecorderError(err);
      if (!signal.aborted) this.failWith(e);
      throw e;
    }
  }

  /**
   * After an upload failed for good: the parts 1..k stored without a gap, the
   * recorded time they hold, and part 1 re-sent with that Duration (best
   * effort, a bounded number of attempts: without it the file still plays).
   */
  private async storedPrefix(uploader: Uploader, recordingId: string): Promise<{ parts: CompletedPart[]; durationMs: number }> {
    const parts = uploader.storedPrefix();
    const k = parts.length;
    const durationMs = await this.durationMs(k);
    let bytes = 0;
    for (const p of parts) bytes += uploader.storedSize(p.partNumber) ?? 0;
    const first = this.firstPart;
    if (k > 0 && first && !this.firstPartFinal) {
      const patched = await this.withDuration(first, durationMs);
      if (patched !== first) {
        const fixer = new Uploader({ api: this.api, recordingId, retry: this.opts.retry, persistent: false });
        fixer.enqueue(patched);
        const fixed = await fixer.finish().catch(() => null);
        if (fixed?.[0]) {
          parts[0] = fixed[0];
          bytes += patched.data.size - first.data.size;
        }
      }
      this.firstPartFinal = true;
    }
    this.recordedBytes = this.completedBytes = bytes;
    return { parts, durationMs };
  }

  /** Part 1 with the Duration written in (or unchanged when the bytes are not WebM this writer knows). */
  private async withDuration(part: Part, durationMs: number): Promise<Part> {
    if (!this.type?.startsWith('video/webm')) return part;
    const head = new Uint8Array(await part.data.slice(0, HEAD_BYTES).arrayBuffer());
    const patched = setWebmDuration(head, durationMs);
    if (!patched) return part;
    this.recordedBytes += patched.length - head.length;
    // Blob parts are copied views; a fresh ArrayBuffer keeps TypeScript's BlobPart happy.
    return { partNumber: part.partNumber, data: new Blob([patched.slice().buffer, part.data.slice(HEAD_BYTES)], { type: part.data.type }) };
  }

  /** Stops MediaRecorder and waits for its last chunk ('stop' comes after the final 'dataavailable'). */
  private async endCapture(): Promise<void> {
    const media = this.media;
    if (media && media.state !== 'inactive') {
      await new Promise<void>((resolve) => {
        media.addEventListener('stop', () => resolve(), { once: true });
        media.stop();
      });
    }
    this.ownedStream?.getTracks().forEach((t) => t.stop());
  }

  private failWith(err: RecorderError): void {
    if (this.currentState === 'failed' || this.currentState === 'idle') return;
    this.controller?.abort();
    // Parts still in flight are stopped; those stored stay on the service (its sweeper finalizes them).
    this.uploader?.cancel();
    if (this.media && this.media.state !== 'inactive') {
      try {
        this.media.stop();
      } catch {
        // Already stopping.
      }
    }
    this.ownedStream?.getTracks().forEach((t) => t.stop());
    this.firstPart = null;
    this.setState('failed');
    this.events.emit('error', err);
  }

  async abort(): Promise<void> {
    const state = this.currentState;
    if (state === 'idle' || state === 'ready') return;
    this.controller?.abort();
    this.uploader?.cancel();
    if (this.media && this.media.state !== 'inactive') this.media.stop();
    this.ownedStream?.getTracks().forEach((t) => t.stop());
    this.firstPart = null;
    const rec = this.rec;
    // From 'failed' too: the parts stored would otherwise be finalized by the sweeper, though the user discarded them.
    if (rec && rec.status !== 'ready') await this.api.failRecording(rec.id, 'Aborted by the user.').catch(() => {});
    this.setState('idle');
  }
}
