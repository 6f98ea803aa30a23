/**
 * One recording, from start() to its end: everything that belongs to it and
 * nothing that outlives it. Each start() makes a new Take, so a recording
 * cannot inherit an earlier one's bytes, clock, parts or failures, and late
 * events of an earlier MediaRecorder are told apart by their Take.
 * CanvasRecorder (recorder.ts) keeps what outlives a recording (options, the
 * API client, listeners, the state, the config cache) and drives the Take
 * through the states.
 */
import type { ApiClient } from './api.js';
import { RecorderError } from './errors.js';
import type { ResolvedRecorderOptions } from './options.js';
import { PartGatherer, planParts, type Part } from './part-gatherer.js';
import type { CompletedPart, PartsUrl, Recording, RecordingConfig } from './types.js';
import { Uploader } from './uploader.js';
import type { TailUploader } from './tail-uploader.js';
import { setWebmDuration, WebmTimeline } from '@sortie/webm';
import type { Compositor, PointerInput } from './compositor/compositor.js';

// Needed only while a recording is open, so they load with the engine (recorder.ts, loadEngine).
export { pageHideAction, sendEndBeacon, visibilityAction } from './page-exit.js';
export { putThumbnail } from './markers.js';

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
export const HEAD_BYTES = 64 * 1024;

/** What keep() did with a chunk. */
export type ChunkVerdict =
  /** Not for this recording (empty, before planning, or after an abort). */
  | 'ignored'
  /** Dropped: it would pass the size limit. */
  | 'dropped'
  /** Kept; capture may go on. */
  | 'kept'
  /** Kept, and one more chunk like the recent ones would not fit: time to stop. */
  | 'kept-full';

export class Take {
  /** The server's recording, once created (then as completed). */
  rec: Recording | null = null;
  /** The type being recorded, once the server's recording exists. */
  type: string | null = null;
  media: MediaRecorder | null = null;
  uploader: Uploader | null = null;
  /** finish()'s promise, once stop() began. */
  stopping: Promise<Recording> | null = null;
  /** Why uploading failed for good, when it did. */
  uploadFailure: RecorderError | null = null;
  /** Capture stopped because the size limit was reached: complete says so (endedBy size_limit). */
  limitReached = false;
  /** MediaRecorder's error, when capture ended because of one. */
  captureFailure: RecorderError | null = null;
  /** Bytes of the file so far: the chunks kept, plus the Duration once written. */
  recordedBytes = 0;
  /** Bytes of the file that was completed, once it is a stored prefix only. */
  completedBytes: number | null = null;
  /** Once a chunk is dropped for the limit, every later one is too: the file must not have a hole. */
  full = false;
  /** The size limit of this recording: the service's, or the caller's if lower. */
  maxSizeBytes = Infinity;

  /** A stream made from a canvas is ours to end at stop; a caller's MediaStream is not. */
  private ownedStream: MediaStream | null = null;
  /** The compositor of an element source (loaded on demand): ours to stop at the end. */
  compositor: Compositor | null = null;
  private gatherer: PartGatherer | null = null;
  /** The size limit less the room kept for the Duration. */
  private limitBytes = Infinity;
  /** Sizes of the last few chunks: the margin kept under the limit for the chunk still to come. */
  private recentChunks: number[] = [];

  // The page's clock (performance.now()), pauses excluded: progress while recording, and the
  // duration when the media's own time cannot be read.
  private startedAt = 0;
  private pausedAt: number | null = null;
  private pausedTotal = 0;
  private stoppedAt: number | null = null;
  /** Page-clock time of the last chunk kept. */
  private keptUntilMs = 0;
  /** Page-clock time at the end of each part: the duration of a recording cut after that part. */
  private partEndMs = new Map<number, number>();

  /** The media's own time, read from the chunks kept (WebM only); preferred over the page's clock. */
  private timeline: WebmTimeline | null = null;
  /** The chunks fed to `timeline` so far, in order. */
  private timelineRead: Promise<void> = Promise.resolve();
  /** Media time at the end of each part, from `timeline`. */
  private partMediaEndMs = new Map<number, number>();

  /** Part 1, kept until its Duration is written (sealFirstPart). */
  private firstPart: Part | null = null;
  /** Part 1 has its Duration (or will never get one): nothing more to send for it. */
  private firstPartFinal = false;

  // Closing parts by time (maxLagMs; docs/bounded-loss.md): what is buffered in `gatherer` is held only in
  // this tab, so it becomes a part once its oldest byte is maxLagMs old, whatever its size.
  /** The end URL the service handed out at create (CreatedRecording.endUrl): POSTed by a beacon on pagehide. */
  endUrl: string | null = null;
  /** (extension) The recording's parts URL (CreatedRecording.partsUrl, `local`): each part in one PUT. */
  partsUrl: PartsUrl | null = null;
  /** Page-clock time of the previous chunk's handover (or of start): the chunk after it holds what was recorded since. */
  private lastHandoverAt = 0;
  /** Page-clock time the oldest buffered byte (in a part or tail not sent yet) was recorded: the handover before its chunk. */
  private bufferedSince = 0;
  /**
   * Fires when the oldest byte held only in this tab reaches maxLagMs, whether it is buffered here or still
   * in MediaRecorder: asks MediaRecorder for what it holds, then closes the part. Armed from start to stop
   * whatever chunk size the browser picks (Safari hands WebM over in ~10 s segments whatever timeslice
   * asks, Chromium MP4 only at fragment boundaries), so the bound does not rest on timeslice.
   */
  private lagTimer: ReturnType<typeof setTimeout> | null = null;
  /** Closes the part anyway if the chunk asked for by requestData() does not come (paused, or nothing encoded). */
  private lagFallback: ReturnType<typeof setTimeout> | null = null;
  /** The buffered bytes are due: the next chunk closes the part. */
  private lagDue = false;

  // Tail objects (S3, where parts are ≥ 5 MiB; docs/bounded-loss.md): instead of closing a part by time,
  // the bytes not yet in a part nor in a tail are PUT as a tail object every maxLagMs.
  /** The tails of this recording, when the backend has a part floor. */
  tails: TailUploader | null = null;
  /** Whether this recording keeps tails (decided by plan()). */
  private useTails = false;
  /** The tail uploader's module, loaded by loadTails() when this recording keeps tails. */
  private tailModule: typeof import('./tail-uploader.js') | null = null;
  /**
   * The service writes the Duration at complete (RecordingConfig.writesDuration, S3): part 1, once sent,
   * is not sent again for it (on S3 that is 5 MiB more of the user's upload, for 11 bytes).
   */
  private serviceWritesDuration = false;
  /** Chunks kept since the last tail or part: the next tail's bytes. */
  private untailed: Blob[] = [];

  constructor(
    private readonly api: ApiClient,
    private readonly opts: ResolvedRecorderOptions,
    /** Aborted by abort() or a failure: ends this recording's requests (made before the Take, see recorder.ts). */
    readonly controller = new AbortController(),
  ) {}

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Bytes stored on the service (the completed prefix, after a failure). */
  get uploadedBytes(): number {
    return this.completedBytes ?? this.uploader?.uploadedBytes ?? 0;
  }

  /**
   * The MediaStream to record: the caller's, one captured from the canvas, or
   * the compositor's for an element (those two ours to end).
   */
  async captureStream(frameRate: number, pointer: PointerInput | null): Promise<MediaStream> {
    const src = this.opts.source;
    if (typeof MediaStream !== 'undefined' && src instanceof MediaStream) return src;
    if (
      typeof HTMLElement !== 'undefined' &&
      src instanceof HTMLElement &&
      !(typeof HTMLCanvasElement !== 'undefined' && src instanceof HTMLCanvasElement)
    ) {
      // Loaded on demand: pages recording a canvas or a stream never download the compositor.
      const { createCompositor } = await import('./compositor/compositor.js');
      this.compositor = createCompositor(src, { frameRate, cursor: this.opts.cursor ?? true });
      if (pointer) this.compositor.setPointer(pointer);
      return this.compositor.stream;
    }
    const canvas = src as HTMLCanvasElement;
    if (typeof canvas.captureStream !== 'function')
      throw new RecorderError('unsupported', 'This browser cannot capture a canvas (no captureStream).');
    this.ownedStream = canvas.captureStream(frameRate);
    return this.ownedStream;
  }

  /** Sizes and parts for this recording, from the service's config. */
  plan(config: RecordingConfig, type: string): void {
    this.maxSizeBytes = Math.min(config.maxSizeBytes, this.opts.maxSizeBytes);
    this.limitBytes = this.maxSizeBytes - DURATION_RESERVE_BYTES;
    const webm = type.startsWith('video/webm');
    this.gatherer = new PartGatherer(planParts(config, this.opts.partSizeBytes, webm ? HEAD_BYTES : 0), type);
    this.timeline = webm ? new WebmTimeline() : null;
    this.useTails =
      !this.gatherer.plan.timeCommits && config.minPartSizeBytes > 1 && Number.isFinite(this.opts.maxLagMs);
    this.serviceWritesDuration = config.writesDuration === true;
  }

  /**
   * Loads the tail uploader when this recording keeps tails (S3): a chunk of its own, which pages on the
   * local backend never download. Called by start() before the recording is created, so the first tail
   * (even one sent on pagehide) finds it loaded.
   */
  async loadTails(): Promise<void> {
    if (!this.useTails || this.tailModule) return;
    try {
      this.tailModule = await import('./tail-uploader.js');
    } catch (cause) {
      throw new RecorderError('network', 'Could not load the recorder code.', { cause });
    }
  }

  /**
   * MediaRecorder's timeslice for this recording: the caller's, at most
   * maxLagMs/2, so chunks come often enough for a part to close by time
   * about when its oldest byte is maxLagMs old.
   */
  timesliceMs(): number {
    return Math.max(1, Math.min(this.opts.timesliceMs, Math.floor(this.opts.maxLagMs / 2)));
  }

  /** The uploader of this recording's parts (once the server's recording exists). */
  openUploader(hooks: {
    onProgress: () => void;
    onFatal: (err: RecorderError) => void;
    onStall: (blocked: RecorderError | null) => void;
  }): Uploader {
    this.uploader = new Uploader({
      api: this.api,
      recordingId: this.rec!.id,
      concurrency: this.opts.concurrency,
      retry: this.opts.retry,
      maxPendingBytes: this.opts.maxUnsentBytes,
      partsUrl: this.partsUrl,
      onProgress: hooks.onProgress,
      onFatal: hooks.onFatal,
      onStall: hooks.onStall,
    });
    if (this.useTails && this.tailModule) {
      this.tails = new this.tailModule.TailUploader({
        api: this.api,
        recordingId: this.rec!.id,
        signal: this.controller.signal,
        retry: this.opts.retry,
        maxLagMs: this.opts.maxLagMs,
        onGone: hooks.onFatal,
      });
      this.tails.prepare(1);
    }
    return this.uploader;
  }

  // --- The page's clock ---

  /** `at`: when capture started by performance.now() (by default now). */
  markStarted(at = performance.now()): void {
    this.startedAt = at;
    this.lastHandoverAt = this.startedAt;
    this.watchLag();
  }
  /** Called before MediaRecorder pauses: what it holds is asked for now, so a long pause does not keep it in the tab. */
  markPaused(): void {
    this.pausedAt = performance.now();
    if (this.media?.state === 'recording' && this.timed()) this.requestChunk();
  }
  markResumed(): void {
    const now = performance.now();
    if (this.pausedAt !== null) {
      this.pausedTotal += now - this.pausedAt;
      // MediaRecorder records nothing while paused: what it still holds from before the pause ages as
      // media time, and once it handed that over (the chunk asked for at pause) it holds nothing older than now.
      this.lastHandoverAt = this.lastHandoverAt < this.pausedAt ? this.lastHandoverAt + now - this.pausedAt : now;
    }
    this.pausedAt = null;
    this.watchLag();
  }
  markStopped(): void {
    this.stoppedAt = performance.now();
  }

  /** Recorded time by the page's clock, pauses excluded, frozen at stop. */
  elapsedMs(): number {
    if (!this.startedAt) return 0;
    const now = this.stoppedAt ?? performance.now();
    const paused = this.pausedTotal + (this.pausedAt !== null ? now - this.pausedAt : 0);
    return Math.max(0, Math.round(now - this.startedAt - paused));
  }

  // --- Chunks and parts ---

  /** Keeps a chunk MediaRecorder handed over (gathered into parts, sent as they close) or drops it for the limit. */
  keep(data: Blob): ChunkVerdict {
    if (data.size === 0 && this.gatherer && !this.aborted) {
      // MediaRecorder had nothing to hand over (a still canvas): it holds nothing older than now.
      this.lastHandoverAt = performance.now();
      if (this.lagDue && !this.buffered()) this.clearLag();
      this.watchLag();
    }
    if (data.size === 0 || !this.gatherer || !this.uploader || this.aborted) return 'ignored';
    if (this.full || this.recordedBytes + data.size > this.limitBytes) {
      this.full = true;
      return 'dropped';
    }
    const before = this.recordedBytes;
    this.recordedBytes += data.size;
    // The file's start (headers and the first keyframe) is far larger than what follows: judge by later
    // chunks. Not "the first chunk": Chromium can hand over a first chunk of one byte, and then the
    // keyframe, with whatever was encoded while the page was busy, in the second.
    if (before >= HEAD_BYTES) this.recentChunks.push(data.size);
    if (this.recentChunks.length > 4) this.recentChunks.shift();
    this.keptUntilMs = this.elapsedMs();
    const wasEmpty = this.tails ? this.untailed.length === 0 : this.gatherer.bufferedBytes === 0;
    const handover = performance.now();
    const part = this.gatherer.push(data);
    // A part that closed holds every byte buffered: the next tail starts after it.
    if (this.tails) this.untailed = part ? [] : [...this.untailed, data];
    this.follow(data, part?.partNumber ?? null);
    if (part) {
      this.partEndMs.set(part.partNumber, this.keptUntilMs);
      this.send(part);
      this.clearLag();
    } else {
      // This chunk holds what was recorded since the previous handover: its oldest byte is that old.
      if (wasEmpty) this.bufferedSince = this.lastHandoverAt;
      if (this.lagDue) this.closeByTime();
    }
    this.lastHandoverAt = handover;
    this.watchLag();
    // Stop while one more chunk half again as large as the recent ones still fits: the last chunk, which
    // comes after stop(), covers at most one timeslice. Should it not fit, it is dropped (see above) and
    // the file ends at the previous chunk.
    return this.recordedBytes + 1.5 * Math.max(0, ...this.recentChunks) > this.limitBytes ? 'kept-full' : 'kept';
  }

  /** Whether bytes are buffered here and not handed to a part or tail yet. */
  private buffered(): boolean {
    return this.tails ? this.untailed.length > 0 : (this.gatherer?.bufferedBytes ?? 0) > 0;
  }

  /** Whether this recording closes parts (or sends tails) by time. */
  private timed(): boolean {
    return !!(this.gatherer?.plan.timeCommits || this.tails) && Number.isFinite(this.opts.maxLagMs);
  }

  /**
   * Arms the lag timer for the oldest byte held only in this tab: the first buffered one, else what
   * MediaRecorder holds since its last handover. An armed timer is never later than that deadline (the
   * oldest byte only moves forward), so one is left as it is; so is a chunk asked for and not handled yet
   * (its fallback arms the next). `minDelayMs` spaces out retries.
   */
  private watchLag(minDelayMs = 0): void {
    if (
      this.lagTimer !== null ||
      this.lagFallback !== null ||
      this.stoppedAt !== null ||
      this.pausedAt !== null ||
      this.aborted ||
      !this.timed()
    )
      return;
    const since = this.buffered() ? this.bufferedSince : this.lastHandoverAt;
    const delay = Math.max(minDelayMs, since + this.opts.maxLagMs - performance.now());
    this.lagTimer = setTimeout(() => this.onLagDeadline(), delay);
  }

  private onLagDeadline(): void {
    this.lagTimer = null;
    if (this.aborted || this.stoppedAt !== null) return;
    const since = this.buffered() ? this.bufferedSince : this.lastHandoverAt;
    // Chunks came on time and a part closed since this was armed: the oldest byte is younger, nothing to ask.
    if (performance.now() < since + this.opts.maxLagMs - 50) return this.watchLag();
    if (this.media?.state === 'recording') this.requestChunk();
    // Paused: MediaRecorder holds nothing new, so what is buffered goes as it is (resume() re-arms).
    else this.closeByTime();
  }

  /**
   * Asks MediaRecorder for what it holds; the chunk it hands over (at once) closes the part with it, so the
   * part ends where the recording is now rather than up to a timeslice earlier.
   */
  private requestChunk(): void {
    this.lagDue = true;
    try {
      this.media!.requestData();
    } catch {
      // Stopping: the last chunk comes anyway.
    }
    if (this.lagFallback !== null) clearTimeout(this.lagFallback);
    // Closes the part anyway if that chunk does not come (nothing encoded), or could not close it (part 1
    // without the file's head yet); then asks again, not sooner than a timeslice.
    this.lagFallback = setTimeout(() => {
      this.lagFallback = null;
      if (this.lagDue) this.closeByTime();
      this.watchLag(this.timesliceMs());
    }, 250);
  }

  private clearLag(): void {
    if (this.lagTimer !== null) clearTimeout(this.lagTimer);
    if (this.lagFallback !== null) clearTimeout(this.lagFallback);
    this.lagTimer = this.lagFallback = null;
    this.lagDue = false;
  }

  /**
   * Closes what is buffered as a part now, below the part size (by time, or
   * on pagehide / the page going hidden). Not while part 1 may still lack
   * the file's head: part 1 closes early only once a block was read (the
   * EBML header, Info and Tracks come before the first block), so the
   * Duration can still be written into it. Returns whether a part went.
   */
  closeByTime(): boolean {
    if (this.tails) return this.sendTail();
    const gatherer = this.gatherer;
    if (!gatherer || !this.uploader || this.aborted || gatherer.bufferedBytes === 0) {
      this.clearLag();
      this.watchLag();
      return false;
    }
    if (gatherer.partCount === 0 && this.timeline && this.timeline.endMs === null) return false; // lagDue stays: the next chunk tries again
    const part = gatherer.closeEarly();
    if (!part) return false;
    this.clearLag();
    this.watchLag();
    this.partEndMs.set(part.partNumber, this.keptUntilMs);
    const timeline = this.timeline;
    if (timeline) {
      // After the chunks already queued for the timeline: the media end of this part.
      this.timelineRead = this.timelineRead.then(() => {
        const end = timeline.endMs;
        if (end !== null) this.partMediaEndMs.set(part.partNumber, end);
      });
    }
    this.send(part);
    return true;
  }

  /** Sends the chunks kept since the last tail or part as a tail of the part they will belong to. */
  private sendTail(): boolean {
    this.clearLag();
    const sent = !!this.tails && !!this.gatherer && !this.aborted && this.untailed.length > 0;
    if (sent) {
      this.tails!.send(this.gatherer!.partCount + 1, new Blob(this.untailed, { type: this.type ?? '' }));
      this.untailed = [];
    }
    this.watchLag();
    return sent;
  }

  private send(part: Part): void {
    // Kept for its Duration at stop, unless the service writes it (then not held: 5 MiB on S3).
    if (part.partNumber === 1 && !this.serviceWritesDuration) this.firstPart = part;
    this.uploader!.enqueue(part);
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
   * The recorded duration: the media's own time when the timeline could read
   * it, else the page's clock (pauses excluded). `afterPart`: of the parts up
   * to that one only.
   */
  private async durationMs(afterPart?: number): Promise<number> {
    const timeline = this.timeline;
    await this.timelineRead;
    const media = afterPart === undefined ? timeline?.endMs : this.partMediaEndMs.get(afterPart);
    if (media != null) return Math.round(media);
    return afterPart === undefined ? this.keptUntilMs : (this.partEndMs.get(afterPart) ?? 0);
  }

  /**
   * After capture ended: closes what is buffered as the last part and sends
   * it (a recording of one part gets its Duration before its first and only
   * upload). The recording's duration.
   */
  async sendLastPart(): Promise<number> {
    this.clearLag();
    // No tail after this: the last part carries the rest. Those under way are awaited below, so none
    // lands after complete (which deletes them).
    const tailsClosed = this.tails?.close();
    const last = this.gatherer!.flush();
    const durationMs = await this.durationMs();
    if (last) {
      this.partEndMs.set(last.partNumber, durationMs);
      this.partMediaEndMs.set(last.partNumber, durationMs);
      const sealed = last.partNumber === 1 ? await this.sealFirstPart(durationMs, last) : null;
      this.send(sealed ?? last);
    }
    await tailsClosed;
    return durationMs;
  }

  /**
   * The one place the Duration goes into part 1 (see @sortie/webm, packages/webm/src/duration.ts): part
   * 1 with it written, to send (again; a re-sent part number replaces the
   * stored one), or null when there is nothing to send: part 1 was sealed
   * already, or its bytes are not a WebM head the writer knows (the file then
   * plays without a length). `part`: by default the part 1 sent during
   * capture; the last part when the recording has only one.
   */
  async sealFirstPart(durationMs: number, part: Part | null = this.firstPart): Promise<Part | null> {
    if (!part || part.partNumber !== 1 || this.firstPartFinal) return null;
    this.firstPartFinal = true;
    // Sent already, and the service writes the same patch itself (a part not yet sent is sealed here: free).
    if (part === this.firstPart && this.serviceWritesDuration) return null;
    if (!this.type?.startsWith('video/webm')) return null;
    const head = new Uint8Array(await part.data.slice(0, HEAD_BYTES).arrayBuffer());
    const patched = setWebmDuration(head, durationMs);
    if (!patched) return null;
    this.recordedBytes += patched.length - head.length;
    // Blob parts are copied views; a fresh ArrayBuffer keeps TypeScript's BlobPart happy.
    return {
      partNumber: 1,
      data: new Blob([patched.slice().buffer, part.data.slice(HEAD_BYTES)], { type: part.data.type }),
    };
  }

  /** Part 1's bytes are no longer needed (completed, or the recording ended). */
  forgetFirstPart(): void {
    this.firstPart = null;
  }

  /**
   * After an upload failed for good: the parts 1..k stored without a gap, the
   * recorded time they hold, and part 1 re-sent with that Duration (best
   * effort, a bounded number of attempts: without it the file still plays).
   */
  async storedPrefix(): Promise<{ parts: CompletedPart[]; durationMs: number }> {
    const uploader = this.uploader!;
    const parts = uploader.storedPrefix();
    const k = parts.length;
    const durationMs = await this.durationMs(k);
    let bytes = 0;
    for (const p of parts) bytes += uploader.storedSize(p.partNumber) ?? 0;
    const first = this.firstPart;
    if (k > 0 && first) {
      const patched = await this.sealFirstPart(durationMs);
      if (patched) {
        const fixer = new Uploader({
          api: this.api,
          recordingId: this.rec!.id,
          retry: this.opts.retry,
          persistent: false,
          partsUrl: this.uploader?.partsUrl ?? this.partsUrl,
        });
        fixer.enqueue(patched);
        const fixed = await fixer.finish().catch(() => null);
        if (fixed?.[0]) {
          parts[0] = fixed[0];
          bytes += patched.data.size - first.data.size;
        }
      }
    }
    this.recordedBytes = this.completedBytes = bytes;
    return { parts, durationMs };
  }

  // --- Ending ---

  /** Stops MediaRecorder and waits for its last chunk ('stop' comes after the final 'dataavailable'). */
  async endCapture(): Promise<void> {
    const media = this.media;
    if (media && media.state !== 'inactive') {
      await new Promise<void>((resolve) => {
        media.addEventListener('stop', () => resolve(), { once: true });
        media.stop();
      });
    }
    this.ownedStream?.getTracks().forEach((t) => t.stop());
    this.compositor?.stop();
  }

  /** Abort or failure: requests stop, parts in flight are cancelled (those stored stay on the service), capture ends. */
  tearDown(): void {
    this.clearLag();
    this.controller.abort();
    void this.tails?.close();
    this.uploader?.cancel();
    if (this.media && this.media.state !== 'inactive') {
      try {
        this.media.stop();
      } catch {
        // Already stopping.
      }
    }
    this.ownedStream?.getTracks().forEach((t) => t.stop());
    this.compositor?.stop();
    this.firstPart = null;
  }
}
