/**
 * The free-space reserve (SORTIE_RECORDING_MIN_FREE_MB), held exactly under bursts.
 *
 * A write first reserves its bytes here: the disk's free space, read fresh, less the bytes
 * already promised to writes under way, must stay at or above the reserve once these bytes
 * are written too. A reading of the disk sees a write only once the write is done, so a
 * promise is counted until the write ends, and after that by every reading that began
 * before it ended (such a reading may or may not have seen its bytes: counting them again
 * errs on the safe side). N writes at once therefore never pass the reserve together, and
 * no figure older than the request decides.
 *
 * Readings are shared: a caller that arrives while one is in flight waits for that one.
 * That is safe because what it may have missed is exactly what the ledger still counts.
 */
import { InsufficientStorageError } from './types.js';

export interface SpaceReservation {
  /** Called once the reserved bytes are written (or were never written): idempotent. */
  release(): void;
}

export class SpaceLedger {
  /** Orders reading starts and releases: a reading begun at s saw every release before s. */
  private seq = 0;
  private nextId = 0;
  /** Bytes promised to writes under way, by reservation. */
  private readonly held = new Map<number, number>();
  /** Promises released while a reading was outstanding: still counted by readings begun before them. */
  private released: { seq: number; bytes: number }[] = [];
  /** Callers still to decide on a reading, by the reading's start. */
  private readonly readers = new Map<number, number>();
  private inFlight: { seq: number; free: Promise<number> } | null = null;

  constructor(private readonly measure: () => Promise<number>) {}

  /** Free bytes on the disk now, less every byte promised to a write under way. */
  async available(): Promise<number> {
    return this.decide((free) => free);
  }

  /** Free bytes on the disk now, read fresh (or by a reading in flight): readiness. */
  async diskFree(): Promise<number> {
    return this.decide((_free, raw) => raw);
  }

  /**
   * Promises `bytes` to a write, or throws InsufficientStorageError when the disk would
   * then hold less than `minFree` free bytes. The caller releases it once the write ends.
   */
  async reserve(bytes: number, minFree: number): Promise<SpaceReservation> {
    return this.decide((free) => {
      if (free - bytes < minFree)
        throw new InsufficientStorageError(
          `${free} bytes free beyond writes under way; ${bytes} more would pass the reserve of ${minFree}`,
        );
      const id = this.nextId++;
      this.held.set(id, bytes);
      return {
        release: () => {
          const n = this.held.get(id);
          if (n === undefined) return;
          this.held.delete(id);
          const at = ++this.seq;
          if (this.readers.size > 0) this.released.push({ seq: at, bytes: n });
        },
      };
    });
  }

  /** Runs `decide` on a reading's free space less what it may have missed, with no await in between. */
  private async decide<T>(decide: (free: number, raw: number) => T): Promise<T> {
    const reading = (this.inFlight ??= this.startReading());
    this.readers.set(reading.seq, (this.readers.get(reading.seq) ?? 0) + 1);
    try {
      const raw = await reading.free;
      let promised = 0;
      for (const n of this.held.values()) promised += n;
      for (const r of this.released) if (r.seq > reading.seq) promised += r.bytes;
      return decide(raw - promised, raw);
    } finally {
      const left = this.readers.get(reading.seq)! - 1;
      if (left > 0) this.readers.set(reading.seq, left);
      else this.readers.delete(reading.seq);
      // A release older than every outstanding reading is seen by all of them: forget it.
      const oldest = this.readers.size > 0 ? Math.min(...this.readers.keys()) : Infinity;
      this.released = this.released.filter((r) => r.seq > oldest);
    }
  }

  private startReading(): { seq: number; free: Promise<number> } {
    const seq = ++this.seq;
    const free = this.measure().finally(() => {
      if (this.inFlight?.seq === seq) this.inFlight = null;
    });
    return { seq, free };
  }
}
