/**
 * MD5 of a stream computed on a worker thread. A part's ETag must be its MD5
 * (docs/API.md, as S3 does), and MD5 on the request's thread runs at about the
 * speed of the disk write itself, halving upload throughput; on its own
 * thread it runs beside the write. Bytes are copied into 1 MiB batches whose
 * buffers are transferred (not copied again) to the worker, and at most
 * MAX_PENDING bytes wait for it, so memory stays flat at any upload size.
 */
import { Worker } from 'node:worker_threads';

const BATCH = 1 << 20;
const MAX_PENDING = 8 * BATCH;
// Idle batch buffers kept for reuse (16 MiB at most).
const POOL_MAX = 16;

// Plain CommonJS evaluated in the worker, so it runs the same under tsx, vitest and a build.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'u') {
    let h = hashes.get(m.id);
    if (!h) { h = createHash('md5'); hashes.set(m.id, h); }
    h.update(new Uint8Array(m.b, 0, m.n));
    parentPort.postMessage({ t: 'ack', id: m.id, n: m.n, b: m.b }, [m.b]);
  } else if (m.t === 'd') {
    const h = hashes.get(m.id);
    hashes.delete(m.id);
    parentPort.postMessage({ t: 'hex', id: m.id, hex: (h || createHash('md5')).digest('hex') });
  } else if (m.t === 'x') {
    hashes.delete(m.id);
  }
});
`;

type Reply = { t: 'ack'; id: number; n: number; b: ArrayBuffer } | { t: 'hex'; id: number; hex: string };

/**
 * Batch buffers travel to the worker and back (transferred both ways, never
 * copied or left to the garbage collector), so a busy upload reuses the same
 * few MiB instead of allocating a new buffer per MiB received.
 */
const freeBuffers: ArrayBuffer[] = [];
function takeBuffer(): Buffer {
  const b = freeBuffers.pop();
  return b ? Buffer.from(b) : Buffer.allocUnsafeSlow(BATCH);
}

let worker: Worker | null = null;
let nextId = 1;
const live = new Map<number, Md5Hasher>();

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (m: Reply) => live.get(m.id)?.onReply(m));
    worker.on('error', (err) => {
      for (const h of live.values()) h.onWorkerError(err);
      worker = null;
    });
  }
  return worker;
}

export class Md5Hasher {
  private readonly id = nextId++;
  private staging = takeBuffer();
  private filled = 0;
  private pending = 0;
  private drainWaiters: (() => void)[] = [];
  private resolveDigest: ((hex: string) => void) | null = null;
  private rejectDigest: ((err: Error) => void) | null = null;
  private failed: Error | null = null;

  constructor() {
    live.set(this.id, this);
  }

  /** Adds bytes; the callback runs once the worker is not too far behind. */
  update(chunk: Uint8Array, ready: () => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(BATCH - this.filled, chunk.length - offset);
      this.staging.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === BATCH) this.flush();
    }
    if (this.pending > MAX_PENDING) this.drainWaiters.push(ready);
    else ready();
  }

  private flush(): void {
    if (this.filled === 0) return;
    // takeBuffer's buffers own their whole ArrayBuffer, so it can be transferred as is.
    const own = this.staging.buffer as ArrayBuffer;
    this.pending += this.filled;
    getWorker().postMessage({ t: 'u', id: this.id, b: own, n: this.filled }, [own]);
    this.staging = takeBuffer();
    this.filled = 0;
  }

  private release(): void {
    if (this.filled === 0 && freeBuffers.length < POOL_MAX) freeBuffers.push(this.staging.buffer as ArrayBuffer);
    this.filled = 0;
  }

  /** The hex digest of everything added. */
  digest(): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    this.flush();
    this.release();
    return new Promise((resolve, reject) => {
      this.resolveDigest = resolve;
      this.rejectDigest = reject;
      getWorker().postMessage({ t: 'd', id: this.id });
    });
  }

  /** Drops the hash state (a failed upload). */
  abort(): void {
    live.delete(this.id);
    this.release();
    worker?.postMessage({ t: 'x', id: this.id });
    this.drainWaiters.splice(0).forEach((w) => w());
  }

  onReply(m: Reply): void {
    if (m.t === 'ack') {
      if (freeBuffers.length < POOL_MAX) freeBuffers.push(m.b);
      this.pending -= m.n;
      if (this.pending <= MAX_PENDING) this.drainWaiters.splice(0).forEach((w) => w());
    } else {
      live.delete(this.id);
      this.resolveDigest?.(m.hex);
    }
  }

  onWorkerError(err: Error): void {
    this.failed = err;
    live.delete(this.id);
    this.rejectDigest?.(err);
    this.drainWaiters.splice(0).forEach((w) => w());
  }
}
