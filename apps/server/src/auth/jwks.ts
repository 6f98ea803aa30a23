/**
 * The keys of SORTIE_AUTH_JWKS_URL, fetched so that an identity provider that
 * is slow or down never hangs a request:
 *
 * - every fetch has a timeout (the body included);
 * - one fetch at a time: concurrent requests share the one in flight;
 * - after a failure, no new fetch before a backoff (doubling up to a ceiling),
 *   so requests in between fail at once instead of each waiting a timeout;
 * - the last good keys keep serving once they are stale: a refresh runs in the
 *   background and its failure does not touch them;
 * - a token whose `kid` is unknown (the provider may have rotated its keys)
 *   triggers a refresh, at most once per refreshMinIntervalMs, so forged kids
 *   cannot turn into a fetch per request.
 *
 * When no keys are at hand (never fetched, or the refresh for an unknown kid
 * failed), keysFor throws JwksUnavailableError: the caller answers 503 with
 * Retry-After, because the token may well be valid and the client should try
 * again, not fetch a new token (which a 401 would tell it to do).
 */
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';

export interface JwksOptions {
  url: string;
  /** How long fetched keys count as fresh. Default 5 minutes. */
  cacheMs?: number;
  /** The longest one fetch (connect, headers and body) may take. Default 5 s. */
  timeoutMs?: number;
  /** Backoff after the first failure, doubled after each further one up to retryMaxMs. Default 2 s. */
  retryMinMs?: number;
  /** Default 60 s. */
  retryMaxMs?: number;
  /** The shortest time between two fetches caused by unknown kids. Default 30 s. */
  refreshMinIntervalMs?: number;
  now?: () => number;
}

export class JwksUnavailableError extends Error {
  constructor(
    /** When a fetch may be tried again. */
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super('The JWKS endpoint cannot be reached', options);
    this.name = 'JwksUnavailableError';
  }
}

export class JwksCache {
  private keys: HonoJsonWebKey[] | null = null;
  private fetchedAt = 0;
  private attemptAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private retryAt = 0;
  private inFlight: Promise<HonoJsonWebKey[]> | null = null;
  private readonly url: string;
  private readonly cacheMs: number;
  private readonly timeoutMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly refreshMinIntervalMs: number;
  private readonly now: () => number;

  constructor(opts: JwksOptions) {
    this.url = opts.url;
    this.cacheMs = opts.cacheMs ?? 5 * 60_000;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.retryMinMs = opts.retryMinMs ?? 2_000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.refreshMinIntervalMs = opts.refreshMinIntervalMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** The keys to verify a token signed with `kid`; throws JwksUnavailableError when there are none to use. */
  async keysFor(kid: string | undefined): Promise<HonoJsonWebKey[]> {
    const keys = this.keys;
    if (!keys) return this.refresh();
    if (kid === undefined || keys.some((k) => k.kid === kid)) {
      // Stale-while-revalidate: the request goes on with the last good keys whatever the refresh does.
      if (this.now() - this.fetchedAt >= this.cacheMs) this.refresh().catch(() => {});
      return keys;
    }
    // Unknown kid. If a fetch is under way, its answer decides; a recent attempt is not repeated (the token is
    // then refused with 401 by the verifier, as its kid is not among the keys).
    if (!this.inFlight && this.now() - this.attemptAt < this.refreshMinIntervalMs) return keys;
    return this.refresh();
  }

  private refresh(): Promise<HonoJsonWebKey[]> {
    if (this.inFlight) return this.inFlight;
    const now = this.now();
    if (now < this.retryAt) return Promise.reject(new JwksUnavailableError(this.retryAt - now));
    this.attemptAt = now;
    const p = this.load().then(
      (keys) => {
        this.keys = keys;
        this.fetchedAt = this.now();
        this.failures = 0;
        this.retryAt = 0;
        return keys;
      },
      (err: unknown) => {
        this.failures++;
        const backoff = Math.min(this.retryMinMs * 2 ** (this.failures - 1), this.retryMaxMs);
        this.retryAt = this.now() + backoff;
        throw new JwksUnavailableError(backoff, { cause: err });
      },
    );
    this.inFlight = p;
    p.finally(() => {
      if (this.inFlight === p) this.inFlight = null;
    }).catch(() => {});
    return p;
  }

  private async load(): Promise<HonoJsonWebKey[]> {
    // The one signal bounds the whole exchange: connecting, the headers and reading the body.
    const res = await fetch(this.url, {
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`JWKS answered ${res.status}`);
    }
    const body = (await res.json()) as { keys?: unknown };
    if (!Array.isArray(body?.keys)) throw new Error('JWKS answer has no "keys" array');
    return body.keys.filter((k): k is HonoJsonWebKey => typeof k === 'object' && k !== null);
  }
}
