/**
 * Ends a request body that stalls or trickles, as Apache's mod_reqtimeout
 * does (`body=30,MinRate=1024`): the next byte must come within the idle
 * timeout, and after that first timeout the body must keep an average rate of
 * at least `minBytesPerSecond`. Node's own requestTimeout (300 s) would hold a
 * body sent one byte every ten seconds for five minutes; this ends it in about
 * thirty.
 */
export class BodyTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyTimeoutError';
  }
}

export interface BodyWatchdogOptions {
  /** Longest wait for the next byte, in ms. */
  idleTimeoutMs: number;
  /** Slowest average rate allowed once idleTimeoutMs has passed; 0 checks only the idle time. */
  minBytesPerSecond: number;
}

/**
 * A watchdog for one body: call seen(n) as bytes arrive; `signal` aborts
 * (with a BodyTimeoutError) when the body stalls or trickles. Call stop() once
 * the body is done with. (It is fed by the reader of the body rather than
 * listening to the body itself: a 'data' listener would start the body flowing
 * before its reader is attached.)
 */
export function createBodyWatchdog(opts: BodyWatchdogOptions): {
  signal: AbortSignal;
  seen(bytes: number): void;
  stop(): void;
} {
  const ac = new AbortController();
  const startedAt = Date.now();
  let lastByteAt = startedAt;
  let received = 0;
  let timer: NodeJS.Timeout | undefined;
  // The timer is re-armed only when it fires, not per chunk: a busy upload costs nothing here.
  const arm = () => {
    const idleDeadline = lastByteAt + opts.idleTimeoutMs;
    const rateDeadline =
      opts.minBytesPerSecond > 0
        ? startedAt + opts.idleTimeoutMs + (received / opts.minBytesPerSecond) * 1000
        : Infinity;
    const wait = Math.min(idleDeadline, rateDeadline) - Date.now();
    if (wait > 0) {
      timer = setTimeout(arm, wait);
      timer.unref();
      return;
    }
    ac.abort(
      new BodyTimeoutError(
        idleDeadline <= rateDeadline
          ? `No byte of the body arrived for ${Math.round(opts.idleTimeoutMs / 1000)} s.`
          : `The body arrived slower than ${opts.minBytesPerSecond} bytes per second.`,
      ),
    );
  };
  arm();
  return {
    signal: ac.signal,
    seen(bytes) {
      received += bytes;
      lastByteAt = Date.now();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
