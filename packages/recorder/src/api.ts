/**
 * The wire protocol of docs/API.md, used by the recorder, the button and the
 * admin client: JSON over fetch with a bearer token, a fresh token after a
 * 401, errors (docs/API.md "3. Errors") turned into RecorderError, and the
 * retry policy on transient failures. Request and answer types are the
 * contract's (@sortie/contract, through ./types.js).
 */
import { RecorderError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';
import type { CreateRecordingBody, PartRequest } from '@sortie/contract';
import type {
  CompletedPart,
  DownloadUrl,
  ErrorBody,
  ListQuery,
  Page,
  PartTarget,
  PartsUrl,
  Recording,
  RecordingConfig,
  TokenSource,
} from './types.js';

export interface ApiOptions {
  /** Origin of the service, e.g. `https://rec.example.com`. Default: the page's origin. */
  baseUrl?: string | undefined;
  getToken: TokenSource;
  /** Retry policy of API calls. Default: RETRY_DEFAULTS (8 attempts, 0.5 s → 15 s). */
  retry?: RetryOptions | undefined;
  /** Injected fetch (tests). Default: globalThis.fetch. */
  fetch?: typeof fetch | undefined;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  signal?: AbortSignal | undefined;
  /** false: a single attempt (default true). */
  retry?: boolean;
}

export function resolveBaseUrl(baseUrl: string | undefined): string {
  if (baseUrl) return baseUrl.replace(/\/+$/, '');
  if (typeof location !== 'undefined') return location.origin;
  throw new RecorderError('invalid_state', 'baseUrl is required outside a browser page.');
}

/** Reads an error body (docs/API.md "3. Errors") into a RecorderError, whatever the response holds. */
export async function errorFromResponse(res: Response, what: string): Promise<RecorderError> {
  let serverCode: string | undefined;
  let message = `${what} answered ${res.status}.`;
  try {
    // Typed as the contract says, read as if it might not be (a proxy may answer JSON of its own).
    const body = (await res.json()) as Partial<ErrorBody> | null;
    if (body?.error?.code) serverCode = body.error.code;
    if (body?.error?.message) message = `${what}: ${body.error.message}`;
  } catch {
    // Not JSON (a proxy's page, an S3 XML error): the status says enough.
  }
  const code = res.status === 401 ? 'unauthorized' : 'http';
  return new RecorderError(code, message, { status: res.status, ...(serverCode ? { serverCode } : {}) });
}

/** fetch that turns a thrown network failure into a RecorderError('network'). */
export async function send(f: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await f(url, init);
  } catch (err) {
    if (init.signal?.aborted) throw new RecorderError('aborted', 'The operation was aborted.', { cause: err });
    throw new RecorderError('network', `Network error reaching ${new URL(url).origin}.`, { cause: err });
  }
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly tokenSource: TokenSource;
  private readonly retry: RetryOptions;
  private readonly fetchFn: typeof fetch;
  private token: Promise<string> | null = null;

  constructor(opts: ApiOptions) {
    this.baseUrl = resolveBaseUrl(opts.baseUrl);
    this.tokenSource = opts.getToken;
    this.retry = opts.retry ?? {};
    this.fetchFn = opts.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  get fetch(): typeof fetch {
    return this.fetchFn;
  }

  /** The current token; `fresh` asks getToken again (after a 401). */
  getToken(fresh = false): Promise<string> {
    if (fresh || !this.token) {
      const src = this.tokenSource;
      this.token = Promise.resolve(typeof src === 'function' ? src() : src);
      // A failed getToken must not be cached.
      this.token.catch(() => (this.token = null));
    }
    return this.token;
  }

  /** One JSON call with the token; a 401 gets one more try with a fresh token; transient failures are retried. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const once = async (): Promise<T> => {
      let res = await this.sendWithToken(method, url.href, opts, false);
      if (res.status === 401) res = await this.sendWithToken(method, url.href, opts, true);
      if (!res.ok) throw await errorFromResponse(res, `${method} ${path}`);
      if (res.status === 204) return undefined as T;
      return (await res.json()) as T;
    };
    return opts.retry === false ? once() : withRetry(once, this.retry, { signal: opts.signal });
  }

  private async sendWithToken(method: string, url: string, opts: RequestOptions, fresh: boolean): Promise<Response> {
    const token = await this.getToken(fresh);
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    return send(this.fetchFn, url, {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  // --- the user routes of docs/API.md "5. Routes" ---

  /** The recording settings; a RecorderError 'disabled' when recording is switched off (404). */
  async config(signal?: AbortSignal): Promise<RecordingConfig> {
    try {
      return await this.request<RecordingConfig>('GET', '/api/recordings/config', { signal });
    } catch (err) {
      if (err instanceof RecorderError && err.status === 404) {
        throw new RecorderError('disabled', 'Video recording is disabled on this service.', {
          status: 404,
          cause: err,
        });
      }
      throw err;
    }
  }

  createRecording(
    body: CreateRecordingBody,
    signal?: AbortSignal,
  ): Promise<Recording & { endUrl?: string; partsUrl?: PartsUrl }> {
    // Not retried blindly: a lost response would leave a second, orphan recording. One retry-safe attempt.
    return this.request('POST', '/api/recordings', { body, signal, retry: false });
  }

  listRecordings(query: ListQuery = {}, signal?: AbortSignal): Promise<Page<Recording>> {
    return this.request('GET', '/api/recordings', { query: { ...query }, signal });
  }

  getRecording(id: string, signal?: AbortSignal): Promise<Recording> {
    return this.request('GET', `/api/recordings/${encodeURIComponent(id)}`, { signal });
  }

  /** `retry` false: one attempt (the uploader retries the whole part itself). */
  requestPart(
    id: string,
    partNumber: number,
    sizeBytes: number,
    signal?: AbortSignal,
    retry = true,
  ): Promise<PartTarget> {
    return this.request('POST', `/api/recordings/${encodeURIComponent(id)}/parts`, {
      body: { partNumber, sizeBytes } satisfies PartRequest,
      signal,
      retry,
    });
  }

  stopRecording(id: string, signal?: AbortSignal): Promise<Recording> {
    return this.request('POST', `/api/recordings/${encodeURIComponent(id)}/stop`, { signal });
  }

  completeRecording(
    id: string,
    body: { durationMs: number | null; parts: CompletedPart[]; endedBy?: 'size_limit' },
    signal?: AbortSignal,
  ): Promise<Recording> {
    return this.request('POST', `/api/recordings/${encodeURIComponent(id)}/complete`, { body, signal });
  }

  failRecording(id: string, reason: string, signal?: AbortSignal): Promise<Recording> {
    return this.request('POST', `/api/recordings/${encodeURIComponent(id)}/fail`, { body: { reason }, signal });
  }

  downloadUrl(id: string, signal?: AbortSignal): Promise<DownloadUrl> {
    return this.request('POST', `/api/recordings/${encodeURIComponent(id)}/download-url`, { signal });
  }

  deleteRecording(id: string, signal?: AbortSignal): Promise<void> {
    return this.request('DELETE', `/api/recordings/${encodeURIComponent(id)}`, { signal });
  }
}
