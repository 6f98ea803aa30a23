/**
 * The retry policy shared by API calls and part uploads: which failures are
 * worth another try, and how long to wait (exponential backoff with jitter,
 * so many tabs that lost the network together do not return together).
 */
import { RecorderError } from './errors.js';

export interface RetryOptions {
  /**
   * Attempts in all, the first included. Default 8 (about a minute of
   * backoff). Applies to API calls; the recorder's part uploads retry
   * transient failures without a count, bounded by its `maxUnsentBytes`.
   */
  attempts?: number;
  /** First delay in ms. Default 500. */
  baseDelayMs?: number;
  /** Longest delay in ms. Default 15000. */
  maxDelayMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { attempts: 8, baseDelayMs: 500, maxDelayMs: 15_000 };

/**
 * Network errors, 5xx, 408 and 429 are transient. 401/403 are handled by the
 * caller (new token or new URL) before they get here; every other 4xx is the
 * client's mistake and repeating it would not help.
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof RecorderError)) return false;
  if (err.code === 'network') return true;
  if (err.code !== 'http' || err.status === undefined) return false;
  return err.status >= 500 || err.status === 408 || err.status === 429;
}

/** Delay before retry number `attempt` (1 = first retry): half fixed, half random. */
export function backoffDelay(attempt: number, opts: RetryOptions = {}, random: () => number = Math.random): number {
  const { baseDelayMs, maxDelayMs } = { ...RETRY_DEFAULTS, ...opts };
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface RetryContext {
  signal?: AbortSignal | undefined;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Told of each failure that will be retried. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError(): RecorderError {
  return new RecorderError('aborted', 'The operation was aborted.');
}

/** Runs `fn` until it succeeds, fails with a non-retryable error, or attempts run out. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
  ctx: RetryContext = {},
): Promise<T> {
  const { attempts } = { ...RETRY_DEFAULTS, ...opts };
  const wait = ctx.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    if (ctx.signal?.aborted) throw abortError();
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err) || ctx.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, opts, ctx.random);
      ctx.onRetry?.(err, attempt, delay);
      await wait(delay, ctx.signal);
    }
  }
}
