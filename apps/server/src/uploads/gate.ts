/**
 * Caps on part bodies received at once through the service (the local PUT
 * route), per replica: in all, per user, and per part. Every body in flight
 * holds a socket, a file descriptor and a little memory, so without a cap a
 * few hundred slow connections (or one user's script) could hold them all.
 * A request over a cap is refused before a byte is read; the SDK treats both
 * answers as transient and retries with backoff.
 */
import { DomainError } from '../errors.js';

/**
 * Two bodies of one part at once are allowed: a client may retry a PUT whose
 * connection it gave up on before the service has noticed the old one is dead
 * (the idle timeout ends it); a third is no longer a retry.
 */
export const MAX_CONCURRENT_PER_PART = 2;

export interface UploadGateOptions {
  /** SORTIE_UPLOAD_MAX_CONCURRENT. */
  maxConcurrent: number;
  /** SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER. */
  maxConcurrentPerUser: number;
  /** Default MAX_CONCURRENT_PER_PART; not an environment variable (tests raise it to race more PUTs). */
  maxConcurrentPerPart?: number;
}

/** A slot's release (call it once), and touch(): a byte of its body arrived now. */
export type GateSlot = (() => void) & { touch(): void };

export class UploadGate {
  private total = 0;
  private readonly byUser = new Map<string, number>();
  private readonly byPart = new Map<string, number>();
  /** The bodies of each recording being received, each with the time it started or last had a byte. */
  private readonly byRecording = new Map<string, Set<{ at: number }>>();

  constructor(private readonly opts: UploadGateOptions) {}

  /** Bodies being received now (the metrics' gauge). */
  get inFlight(): number {
    return this.total;
  }

  /**
   * Whether a body of this recording is being received here now; with `quietMs`, only a
   * body that started or had a byte within the last `quietMs` counts (a stalled one does not).
   */
  busy(recordingId: string, quietMs?: number): boolean {
    const bodies = this.byRecording.get(recordingId);
    if (!bodies) return false;
    if (quietMs === undefined) return true;
    const since = Date.now() - quietMs;
    for (const b of bodies) if (b.at > since) return true;
    return false;
  }

  /** Takes a slot for one body, or throws; the returned function gives it back (call it once). */
  acquire(userId: string, recordingId: string, partNumber: number): GateSlot {
    const part = `${recordingId}/${partNumber}`;
    if (this.total >= this.opts.maxConcurrent) {
      throw new DomainError(
        'service_unavailable',
        `The service is receiving ${this.total} parts already; send this one again shortly.`,
        { retryAfterSeconds: 2 },
      );
    }
    if ((this.byUser.get(userId) ?? 0) >= this.opts.maxConcurrentPerUser) {
      throw new DomainError(
        'too_many_requests',
        `You are sending ${this.opts.maxConcurrentPerUser} parts at once already; send this one when one of them is done.`,
        {
          retryAfterSeconds: 1,
        },
      );
    }
    const perPart = this.opts.maxConcurrentPerPart ?? MAX_CONCURRENT_PER_PART;
    if ((this.byPart.get(part) ?? 0) >= perPart) {
      throw new DomainError(
        'too_many_requests',
        `Part ${partNumber} is being received ${perPart} times already; send it again once those end.`,
        {
          retryAfterSeconds: 1,
        },
      );
    }
    this.total++;
    this.byUser.set(userId, (this.byUser.get(userId) ?? 0) + 1);
    this.byPart.set(part, (this.byPart.get(part) ?? 0) + 1);
    const body = { at: Date.now() };
    let bodies = this.byRecording.get(recordingId);
    if (!bodies) this.byRecording.set(recordingId, (bodies = new Set()));
    bodies.add(body);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      dec(this.byUser, userId);
      dec(this.byPart, part);
      bodies.delete(body);
      if (bodies.size === 0 && this.byRecording.get(recordingId) === bodies) this.byRecording.delete(recordingId);
    };
    return Object.assign(release, {
      touch() {
        body.at = Date.now();
      },
    });
  }
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 1) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
