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
}

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
    const ask = async (): Promise<PartTarget> => {
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
          const url = `${parts.url}/${part.partNumber}`;
          res = await this.put(
            { partNumber: part.partNumber, url, method: 'PUT', headers: parts.headers, expiresAt: parts.expiresAt },
            part,
            signal,
          );
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            // Expired, refused, or a service that no longer has the route: POST /parts, whose answer
            // carries a fresh parts URL when there is one.
            if (this.partsUrl === parts) this.partsUrl = null;
            res = null;
          }
        }
        if (!res) {
          if (!target || Date.parse(target.expiresAt) - Date.now() < EXPIRY_MARGIN_MS) target = await ask();
          res = await this.put(target, part, signal);
          if (res.status === 401 || res.status === 403 || res.status === 409) {
            // The URL expired or was refused, or the part's reservation is not this URL's (asked again
            // meanwhile, or forgotten by a database crash): a new one, right away, once per attempt. A
            // recording that takes no more parts answers POST /parts with its own 409.
            target = await ask();
            res = await this.put(target, part, signal);
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
        this.opts.onProgress?.(this.uploadedBytes);
      },
      this.opts.persistent === false ? this.opts.retry : { ...this.opts.retry, attempts: Infinity },
      {
        signal,
        onRetry: (err, attempt) => {
          this.lastTransient = err;
          this.opts.onRetry?.(err, part.partNumber, attempt);
        },
      },
    );
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
