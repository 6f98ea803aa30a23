/**
 * Sends parts as they close: at most `concurrency` PUTs at a time, each
 * through the docs/API.md protocol (ask /parts for a URL, PUT exactly that many
 * bytes, keep the ETag) or, where the service gave the recording a parts URL
 * (extension, `local`), in one PUT to it. Transient failures (network, 5xx, 408, 429) are
 * retried with backoff for as long as it takes, by default: what bounds the
 * wait is memory, not an attempt count — once the bytes not uploaded yet
 * would pass `maxPendingBytes`, the uploader fails. A URL that expired or
 * answers 401/403 is replaced by asking /parts again. A part's bytes are
 * dropped as soon as it is stored, so memory holds only what is not
 * uploaded yet.
 *
 * Failures that never reach a server (fetch rejects: no network, a proxy or
 * an extension blocking the request, a cross-origin URL without CORS) are
 * retried like any other, but once they keep coming (STALL_AFTER_TRIES in a
 * row over at least STALL_AFTER_MS, across every part) the uploader says so
 * through `onStall` with an `upload_blocked` error naming the URL's origin,
 * and again (null) once a part is stored: without it an integrator whose part
 * URLs are blocked sees a recording that uploads forever and never learns why.
 */
import { send, errorFromResponse, type ApiClient } from './api.js';
import { RecorderError } from './errors.js';
import { DEFAULT_MAX_PENDING_BYTES } from './options.js';
import { withRetry, type RetryOptions } from './retry.js';
import type { Part } from './part-gatherer.js';
import type { CompletedPart, PartTarget, PartsUrl } from './types.js';

export interface UploaderOptions {
  api: ApiClient;
  recordingId: string;
  /** PUTs in flight at once. Default 3. */
  concurrency?: number | undefined;
  /** Backoff of part retries (baseDelayMs, maxDelayMs); `attempts` counts only when `persistent` is false. */
  retry?: RetryOptions | undefined;
  /**
   * true (default): transient failures are retried without an attempt limit
   * (bounded by `maxPendingBytes`). false: `retry.attempts` applies.
   */
  persistent?: boolean | undefined;
  /** The uploader fails once the bytes waiting or in flight would pass this. Default DEFAULT_MAX_PENDING_BYTES. */
  maxPendingBytes?: number | undefined;
  /**
   * (extension) The recording's parts URL (CreatedRecording.partsUrl): each part is one PUT to
   * `${url}/${partNumber}` instead of POST /parts and a PUT. Renewed from POST /parts answers.
   */
  partsUrl?: PartsUrl | null | undefined;
  /** Called whenever the count of stored bytes changes. */
  onProgress?: (uploadedBytes: number) => void;
  /** Called once when a part fails for good. */
  onFatal?: (err: RecorderError) => void;
  /** Told of each retried failure (for logs). */
  onRetry?: (err: unknown, partNumber: number, attempt: number) => void;
  /** Uploads keep failing before reaching a server (an `upload_blocked` error), or (null) a part was stored since. */
  onStall?: (blocked: RecorderError | null) => void;
  /** The least time from the first of STALL_AFTER_TRIES such failures to the stall. Default STALL_AFTER_MS. */
  stallAfterMs?: number | undefined;
}

/**
 * Failed tries in a row, over every part, that never reached a server before the uploader calls itself
 * stalled, and the least time since the first of them: a blip (a few parallel parts failing in the same
 * second) is not reported, a blocked URL is within ~5-10 s (tries at 0, ~0.4, ~1.2, ~2.8, ~6 s by the
 * default backoff).
 */
export const STALL_AFTER_TRIES = 3;
export const STALL_AFTER_MS = 4000;

/**
 * The most a browser lets keepalive requests carry in flight at once (the
 * Fetch standard's 64 KiB). A PUT this small goes with `keepalive`, so it is
 * not cancelled when the page unloads: a part in flight when the tab closes
 * still lands.
 */
export const KEEPALIVE_BODY_LIMIT = 64 * 1024;

/** Whether a body of `size` bytes may go with keepalive while `inFlight` keepalive bytes are still under way. */
export function fitsKeepalive(size: number, inFlight: number): boolean {
  return size > 0 && size + inFlight <= KEEPALIVE_BODY_LIMIT;
}

/** A URL this close to its expiry is not used: a slow PUT would outlive it. */
const EXPIRY_MARGIN_MS = 30_000;

export class Uploader {
  private readonly opts: UploaderOptions;
  /** Parts not started yet. */
  private readonly queue: Part[] = [];
  /** Parts being sent. */
  private readonly running = new Set<Part>();
  private readonly etags = new Map<number, string>();
  private readonly sizes = new Map<number, number>();
  private readonly controller = new AbortController();
  private failure: RecorderError | null = null;
  /** The last transient failure, reported as the cause when the memory cap is hit. */
  private lastTransient: unknown = null;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Body bytes of keepalive PUTs under way (the browser refuses more than KEEPALIVE_BODY_LIMIT). */
  private keepaliveBytes = 0;
  /** Parts whose keepalive PUT failed: their retries go without keepalive (a browser or server that refuses it must not stall them). */
  private readonly keepaliveRefused = new Set<number>();
  /** Tries in a row (over every part, since the last part stored) that failed before reaching a server. */
  private blockedTries = 0;
  /** When the first of them failed (Date.now()). */
  private blockedSince = 0;
  /** The `upload_blocked` error while stalled, else null. */
  stalled: RecorderError | null = null;

  /** The parts URL in use (null: every part asks POST /parts for its URL). */
  partsUrl: PartsUrl | null;

  constructor(opts: UploaderOptions) {
    this.opts = opts;
    this.partsUrl = opts.partsUrl ?? null;
  }

  /** Bytes stored on the service, counting each part number once (its latest size). */
  get uploadedBytes(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  /** Bytes waiting or in flight. */
  get pendingBytes(): number {
    let n = 0;
    for (const p of [...this.queue, ...this.running]) n += p.data.size;
    return n;
  }

  get error(): RecorderError | null {
    return this.failure;
  }

  /**
   * The stored parts 1..k with no gap (the longest prefix of the file that is
   * on the service): what can still be completed after a failure.
   */
  storedPrefix(): CompletedPart[] {
    const out: CompletedPart[] = [];
    for (let n = 1; this.etags.has(n); n++) out.push({ partNumber: n, etag: this.etags.get(n)! });
    return out;
  }

  /** The size sent for a stored part (its latest), if stored. */
  storedSize(partNumber: number): number | undefined {
    return this.sizes.get(partNumber);
  }

  enqueue(part: Part): void {
    if (this.failure) return;
    const cap = this.opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    if (this.pendingBytes + part.data.size > cap) {
      const cause = this.lastTransient;
      const why = cause instanceof Error ? ` (last failure: ${cause.message})` : '';
      this.fail(
        new RecorderError(
          'network',
          `Uploads are not keeping up: more than ${cap} bytes are waiting to be uploaded${why}.`,
          cause === null ? {} : { cause },
        ),
      );
      return;
    }
    this.queue.push(part);
    this.pump();
  }

  /** Waits until every queued part is stored; the list of parts 1..n with their ETags. */
  async finish(): Promise<CompletedPart[]> {
    if (this.running.size > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    if (this.failure) throw this.failure;
    return [...this.etags.entries()].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }));
  }

  /** Stops everything in flight (abort). */
  cancel(): void {
    this.controller.abort();
    this.fail(new RecorderError('aborted', 'The upload was aborted.'));
  }

  private pump(): void {
    const limit = Math.max(1, this.opts.concurrency ?? 3);
    while (!this.failure && this.running.size < limit && this.queue.length > 0) {
      const part = this.queue.shift()!;
      this.running.add(part);
      this.upload(part)
        .catch((err) =>
          this.fail(err instanceof RecorderError ? err : new RecorderError('network', String(err), { cause: err })),
        )
        .finally(() => {
          // Dropped only once stored (or failed for good): `queue` + `running` is what memory holds.
          this.running.delete(part);
          this.pump();
          this.settle();
        });
    }
  }

  private settle(): void {
    if (this.failure || (this.running.size === 0 && this.queue.length === 0)) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) {
        if (this.failure) w.reject(this.failure);
        else w.resolve();
      }
    }
  }

  private fail(err: RecorderError): void {
    if (this.failure) return;
    this.failure = err;
    this.controller.abort();
    this.opts.onFatal?.(err);
    this.settle();
  }

  /** One part, with retries; a URL is asked for per part and reused across its retries until near expiry. */
  private async upload(part: Part): Promise<void> {
    const { api, recordingId } = this.opts;
    const signal = this.controller.signal;
    let target: PartTarget | null = null;
    /** The URL of the request under way: the one a network failure did not reach. */
    let url = api.baseUrl;
    const put = (t: PartTarget): Promise<Response> => {
      url = t.url;
      return this.put(t, part, signal);
    };
    const ask = async (): Promise<PartTarget> => {
      url = api.baseUrl;
      // No retries inside: this loop is the one retry budget of the part.
      const t = await api.requestPart(recordingId, part.partNumber, part.data.size, signal, false);
      if (t.partsUrl) this.partsUrl = t.partsUrl;
      return t;
    };
    await withRetry(
      async () => {
        let res: Response | null = null;
        const parts = this.partsUrl;
        if (parts && Date.parse(parts.expiresAt) - Date.now() >= EXPIRY_MARGIN_MS) {
          // One request: the PUT reserves the part (its Content-Length) and stores it.
          res = await put({
            partNumber: part.partNumber,
            url: `${parts.url}/${part.partNumber}`,
            method: 'PUT',
            headers: parts.headers,
            expiresAt: parts.expiresAt,
          });
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            // Expired, refused, or a service that no longer has the route: POST /parts, whose answer
            // carries a fresh parts URL when there is one.
            if (this.partsUrl === parts) this.partsUrl = null;
            res = null;
          }
        }
        if (!res) {
          if (!target || Date.parse(target.expiresAt) - Date.now() < EXPIRY_MARGIN_MS) target = await ask();
          res = await put(target);
          if (res.status === 401 || res.status === 403 || res.status === 409) {
            // The URL expired or was refused, or the part's reservation is not this URL's (asked again
            // meanwhile, or forgotten by a database crash): a new one, right away, once per attempt. A
            // recording that takes no more parts answers POST /parts with its own 409.
            target = await ask();
            res = await put(target);
          }
        }
        if (!res.ok) throw await errorFromResponse(res, `PUT part ${part.partNumber}`);
        const etag = res.headers.get('ETag');
        if (!etag) {
          throw new RecorderError(
            'http',
            `PUT part ${part.partNumber} answered without an ETag header (a CORS setup that does not expose ETag?).`,
            {
              status: res.status,
            },
          );
        }
        this.etags.set(part.partNumber, etag);
        this.sizes.set(part.partNumber, part.data.size);
        this.blockedTries = 0;
        if (this.stalled) {
          this.stalled = null;
          this.opts.onStall?.(null);
        }
        this.opts.onProgress?.(this.uploadedBytes);
      },
      this.opts.persistent === false ? this.opts.retry : { ...this.opts.retry, attempts: Infinity },
      {
        signal,
        onRetry: (err, attempt) => {
          this.lastTransient = err;
          if (err instanceof RecorderError && err.code === 'network') this.blocked(url);
          this.opts.onRetry?.(err, part.partNumber, attempt);
        },
      },
    );
  }

  /** One more try failed before reaching `url`'s server. */
  private blocked(url: string): void {
    const now = Date.now();
    if (this.blockedTries++ === 0) this.blockedSince = now;
    const wait = this.opts.stallAfterMs ?? STALL_AFTER_MS;
    if (this.stalled || this.blockedTries < STALL_AFTER_TRIES || now - this.blockedSince < wait) return;
    const origin = new URL(url).origin;
    const seconds = Math.round((now - this.blockedSince) / 1000);
    this.stalled = new RecorderError(
      'upload_blocked',
      `Part uploads to ${origin} keep failing before reaching it (${this.blockedTries} tries in ${seconds} s): ` +
        `the network (offline, a proxy, a firewall or an extension) blocks them, or ${origin} does not allow ` +
        `this page's origin (CORS: Access-Control-Allow-Origin, and ETag in Access-Control-Expose-Headers). Still retrying.`,
      { cause: this.lastTransient },
    );
    this.opts.onStall?.(this.stalled);
  }

  private async put(target: PartTarget, part: Part, signal: AbortSignal): Promise<Response> {
    const init: RequestInit = { method: target.method || 'PUT', headers: target.headers, body: part.data, signal };
    const size = part.data.size;
    if (this.keepaliveRefused.has(part.partNumber) || !fitsKeepalive(size, this.keepaliveBytes))
      return send(this.opts.api.fetch, target.url, init);
    this.keepaliveBytes += size;
    // The budget is counted here; should the browser still refuse (keepalive requests of other code on
    // the page share the budget; a cross-origin keepalive needing a preflight), the failure is a network
    // error, and the part's retry loop sends it again, then without keepalive.
    try {
      return await send(this.opts.api.fetch, target.url, { ...init, keepalive: true });
    } catch (err) {
      this.keepaliveRefused.add(part.partNumber);
      throw err;
    } finally {
      this.keepaliveBytes -= size;
    }
  }
}
