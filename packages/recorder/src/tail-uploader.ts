/**
 * Tail objects (docs/bounded-loss.md, "S3 backend"). On S3 a part under
 * 5 MiB is refused unless it is the last, so a quiet recording would hold
 * minutes of media only in the tab before its next part. Instead, every
 * maxLagMs (Take decides when), the bytes not yet in a part and not yet in a
 * tail are sent as a small *tail object* straight to the bucket, a form
 * upload to a presigned POST whose policy caps its size (the store refuses a
 * larger one); the service folds them into the last part only if the
 * recording ends without this page (tab closed, crash), and deletes them.
 *
 * Tails of part n are numbered 0, 1, … in byte order; the service keeps
 * a run from 0 up to the first gap, so each tail is retried a few times.
 * Targets come in batches (POST /:id/tails: 8 for the current part, 2 for
 * the next), fetched ahead so a tail sent on pagehide goes at once, without
 * a request the page may not outlive. Tails are best effort: a failed tail,
 * or one over its target's cap (never sent), never fails the recording (its
 * parts still carry everything).
 */
import { send, errorFromResponse, type ApiClient } from './api.js';
import { RecorderError } from './errors.js';
import { fitsKeepalive } from './uploader.js';
import { withRetry, type RetryOptions } from './retry.js';
import type { TailTargets } from '@sortie/contract';

interface Target {
  url: string;
  fields: Record<string, string>;
  maxBytes: number;
  expiresAt: number;
}

/** A URL this close to its expiry is not used: the PUT could outlive it. */
const EXPIRY_MARGIN_MS = 30_000;
/** Fewer URLs than this left for the current part: the next batch is fetched ahead. */
const LOW_WATER = 3;
/** Attempts per tail: a tail is worth a few, not the recording's whole retry budget. */
const TAIL_ATTEMPTS = 4;
/**
 * What a form upload adds to the tail's own bytes, counted for keepalive: at least this, and more when the
 * fields are long (a session token, a KMS key ARN, each also in the base64 policy).
 */
const FORM_OVERHEAD_BYTES = 4096;
/** A part of a multipart/form-data body besides its name and value: its boundary line and headers. */
const FORM_PART_BYTES = 160;

/** The size of a form upload of `fileBytes` with `fields`, for keepalive's budget (an upper estimate). */
export function formBytes(fields: Record<string, string>, fileBytes: number): number {
  let bytes = 2 * FORM_PART_BYTES;
  for (const [k, v] of Object.entries(fields)) bytes += k.length + v.length + FORM_PART_BYTES;
  return fileBytes + Math.max(FORM_OVERHEAD_BYTES, bytes);
}

export interface TailUploaderOptions {
  api: ApiClient;
  recordingId: string;
  /** Aborts every request (the recording was aborted). */
  signal: AbortSignal;
  retry?: RetryOptions | undefined;
  /** How often tails are sent: the service sizes the targets' lifetime by it. */
  maxLagMs?: number | undefined;
  /**
   * The recording is gone (deleted while recording): a 404 for targets after the service has handed some out.
   * On S3 tails go to the store, so this may be the first the page hears of it for minutes, until a part is due.
   */
  onGone?: ((err: RecorderError) => void) | undefined;
}

export class TailUploader {
  private readonly urls = new Map<string, Target>();
  private readonly nextSeq = new Map<number, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private batch: Promise<void> | null = null;
  private closed = false;
  /** Batches of targets the service handed out: a 404 after one means the recording, not the route, is gone. */
  private batches = 0;
  private keepaliveBytes = 0;
  /** A keepalive PUT failed: later ones go without (a store or browser that refuses keepalive refuses it each time). */
  private keepaliveRefused = false;
  /** Tails stored / given up, and their bytes (for figures and tests). */
  stored = 0;
  storedBytes = 0;
  failed = 0;

  constructor(private readonly opts: TailUploaderOptions) {}

  /** Fetches the first URLs before any tail is due, so even the first one can go on pagehide. */
  prepare(partNumber: number): void {
    this.ensureUrls(partNumber, this.nextSeq.get(partNumber) ?? 0);
  }

  /** Sends `data` as the next tail of part `partNumber` (the part not yet closed). */
  send(partNumber: number, data: Blob): void {
    if (this.closed || data.size === 0 || this.opts.signal.aborted) return;
    const seq = this.nextSeq.get(partNumber) ?? 0;
    this.nextSeq.set(partNumber, seq + 1);
    const p = this.put(partNumber, seq, data).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    this.ensureUrls(partNumber, seq + 1);
  }

  /** No more tails; resolves when the ones under way have landed or given up (they must not land after complete). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private key(partNumber: number, seq: number): string {
    return `${partNumber}-${seq}`;
  }

  private usable(partNumber: number, seq: number): Target | null {
    const u = this.urls.get(this.key(partNumber, seq));
    return u && u.expiresAt - Date.now() > EXPIRY_MARGIN_MS ? u : null;
  }

  /** Fetches a batch from `seq` when fewer than LOW_WATER usable URLs are left for the part. */
  private ensureUrls(partNumber: number, seq: number): void {
    let left = 0;
    while (left < LOW_WATER && this.usable(partNumber, seq + left)) left++;
    if (left < LOW_WATER && !this.batch && !this.closed) this.fetchBatch(partNumber, seq).catch(() => {});
  }

  private fetchBatch(partNumber: number, firstSeq: number): Promise<void> {
    this.batch ??= (async () => {
      try {
        const b = await this.opts.api.request<TailTargets>(
          'POST',
          `/api/recordings/${encodeURIComponent(this.opts.recordingId)}/tails`,
          {
            body: { partNumber, firstSeq, ...(this.opts.maxLagMs ? { maxLagMs: this.opts.maxLagMs } : {}) },
            signal: this.opts.signal,
            retry: false,
          },
        );
        this.batches++;
        const expiresAt = Date.parse(b.expiresAt);
        for (const u of b.urls)
          this.urls.set(this.key(u.partNumber, u.seq), {
            url: u.url,
            fields: u.fields,
            maxBytes: b.maxBytes,
            expiresAt,
          });
      } catch (err) {
        // A service without tails (404), or a recording that takes no more (409, 413): stop asking.
        if (err instanceof RecorderError && err.status !== undefined && [400, 404, 409, 413].includes(err.status)) {
          this.closed = true;
          if (err.status === 404 && this.batches > 0 && !this.opts.signal.aborted) this.opts.onGone?.(err);
        }
        throw err;
      } finally {
        this.batch = null;
      }
    })();
    return this.batch;
  }

  private async put(partNumber: number, seq: number, data: Blob): Promise<void> {
    const { signal } = this.opts;
    try {
      await withRetry(
        async () => {
          let target = this.usable(partNumber, seq);
          if (!target) {
            await (this.batch ?? this.fetchBatch(partNumber, seq));
            target =
              this.usable(partNumber, seq) ?? (await this.fetchBatch(partNumber, seq), this.usable(partNumber, seq));
          }
          if (!target) throw new Error('no tail URL');
          // The store would refuse it (the recording's room is shared among its targets): not sent at all.
          if (data.size > target.maxBytes) throw new Error('tail over its target’s cap');
          const res = await this.postOnce(target, data, signal);
          if (res.status === 401 || res.status === 403) this.urls.delete(this.key(partNumber, seq));
          if (!res.ok) throw await errorFromResponse(res, `POST tail ${partNumber}-${seq}`);
        },
        { ...this.opts.retry, attempts: TAIL_ATTEMPTS },
        { signal },
      );
      this.urls.delete(this.key(partNumber, seq));
      this.stored++;
      this.storedBytes += data.size;
    } catch {
      this.failed++;
    }
  }

  /**
   * A form upload: the policy's fields first, the file last (S3 reads fields
   * after the file no more). With keepalive when small enough: a tail sent on
   * pagehide must outlive the page.
   */
  private async postOnce(target: Target, data: Blob, signal: AbortSignal): Promise<Response> {
    const form = new FormData();
    for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
    form.append('file', data);
    const init: RequestInit = { method: 'POST', body: form, signal };
    const size = formBytes(target.fields, data.size);
    if (this.keepaliveRefused || !fitsKeepalive(size, this.keepaliveBytes))
      return send(this.opts.api.fetch, target.url, init);
    this.keepaliveBytes += size;
    try {
      return await send(this.opts.api.fetch, target.url, { ...init, keepalive: true });
    } catch (err) {
      this.keepaliveRefused = true;
      throw err;
    } finally {
      this.keepaliveBytes -= size;
    }
  }
}
