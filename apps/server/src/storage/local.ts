/**
 * Local-disk backend. Layout under the storage root:
 *   <key>                          finished recordings
 *   .parts/<key>/<NNNNNN>.<etag>   received parts, named by their content hash
 *   .parts/<key>/*.tmp             parts being received
 * A part is streamed to a .tmp file and renamed only once it is whole, so a
 * request cut off half-way leaves nothing behind. Naming a stored part by its
 * ETag means two racing PUTs of one part number can never leave a file whose
 * bytes differ from the ETag the client was given.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  InvalidPartError,
  PartIncompleteError,
  PartTooLargeError,
  type RecordingStorage,
  type StoredPart,
  normalizeEtag,
} from './types.js';
import { Md5Hasher } from '../lib/md5-offthread.js';

const KEY_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(webm|mp4)$/;
const PART_RE = /^(\d{6})\.([0-9a-f]{32})$/;

export class LocalStorage implements RecordingStorage {
  readonly backend = 'local' as const;
  readonly minPartSizeBytes = 0;
  readonly maxParts = 10_000;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async init(): Promise<void> {
    await mkdir(path.join(this.root, '.parts'), { recursive: true });
  }

  /** Resolves a key to a path, refusing anything that is not a recording key. */
  private objectPath(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`invalid storage key`);
    return path.join(this.root, key);
  }

  private partsDir(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`invalid storage key`);
    return path.join(this.root, '.parts', key);
  }

  async createUpload(key: string): Promise<null> {
    await mkdir(this.partsDir(key), { recursive: true });
    return null;
  }

  async presignPart(): Promise<null> {
    return null;
  }

  async writePart(args: { key: string; partNumber: number; sizeBytes: number; body: Readable }): Promise<StoredPart> {
    const dir = this.partsDir(args.key);
    await mkdir(dir, { recursive: true });
    const prefix = String(args.partNumber).padStart(6, '0');
    const tmp = path.join(dir, `${prefix}.${randomBytes(8).toString('hex')}.tmp`);
    const hash = new Md5Hasher();
    let received = 0;
    const limit = args.sizeBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received > limit) {
          cb(new PartTooLargeError(`part body is longer than its declared ${limit} bytes`));
          return;
        }
        hash.update(chunk, () => cb(null, chunk));
      },
    });
    try {
      await pipeline(args.body, meter, createWriteStream(tmp, { flags: 'wx' }));
      if (received !== limit) {
        throw new PartIncompleteError(`part body ended after ${received} of ${limit} bytes`);
      }
    } catch (err) {
      hash.abort();
      await unlink(tmp).catch(() => {});
      if (err instanceof PartTooLargeError || err instanceof PartIncompleteError) throw err;
      // A client that hung up mid-body surfaces as a stream error here.
      throw new PartIncompleteError(`part body was cut off after ${received} of ${limit} bytes`, { cause: err });
    }
    const etag = await hash.digest();
    const final = path.join(dir, `${prefix}.${etag}`);
    await rename(tmp, final);
    // Older versions of this part number are garbage now; completion only reads the named one.
    for (const name of await readdir(dir)) {
      if (name.startsWith(`${prefix}.`) && name !== `${prefix}.${etag}` && !name.endsWith('.tmp')) {
        await unlink(path.join(dir, name)).catch(() => {});
      }
    }
    return { partNumber: args.partNumber, etag: `"${etag}"`, sizeBytes: received };
  }

  async completeUpload(args: { key: string; parts: { partNumber: number; etag: string }[] }): Promise<{ sizeBytes: number }> {
    const dir = this.partsDir(args.key);
    const final = this.objectPath(args.key);
    const existing = await stat(final).catch(() => null);
    const files: string[] = [];
    for (const p of args.parts) {
      const file = path.join(dir, `${String(p.partNumber).padStart(6, '0')}.${normalizeEtag(p.etag)}`);
      const st = await stat(file).catch(() => null);
      if (!st) {
        // Already assembled by an earlier complete whose clean-up was cut short.
        if (existing) return { sizeBytes: existing.size };
        throw new InvalidPartError(`part ${p.partNumber} with ETag ${p.etag} is not stored`);
      }
      files.push(file);
    }
    const tmp = `${final}.${randomBytes(8).toString('hex')}.tmp`;
    const out = createWriteStream(tmp, { flags: 'wx' });
    let size = 0;
    try {
      for (const file of files) {
        await pipeline(createReadStream(file), out, { end: false });
        size += (await stat(file)).size;
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      // The parts are deleted next: the joined file must be on disk first.
      const h = await open(tmp, 'r+');
      await h.sync();
      await h.close();
    } catch (err) {
      out.destroy();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await rename(tmp, final);
    await rm(dir, { recursive: true, force: true });
    return { sizeBytes: size };
  }

  async abortUpload(args: { key: string }): Promise<void> {
    await rm(this.partsDir(args.key), { recursive: true, force: true });
  }

  async listParts(args: { key: string }): Promise<StoredPart[]> {
    const dir = this.partsDir(args.key);
    const names = await readdir(dir).catch(() => [] as string[]);
    const parts: StoredPart[] = [];
    for (const name of names) {
      const m = PART_RE.exec(name);
      if (!m) continue;
      const st = await stat(path.join(dir, name));
      parts.push({ partNumber: Number(m[1]), etag: `"${m[2]}"`, sizeBytes: st.size });
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async stat(key: string): Promise<{ sizeBytes: number } | null> {
    const st = await stat(this.objectPath(key)).catch(() => null);
    return st ? { sizeBytes: st.size } : null;
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.objectPath(key);
    // Open first so that a missing file is an error here, not mid-response.
    const handle = await open(file, 'r');
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async presignDownload(): Promise<null> {
    return null;
  }

  async delete(key: string): Promise<void> {
    await rm(this.objectPath(key), { force: true });
    await rm(this.partsDir(key), { recursive: true, force: true });
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, `.ready-${randomBytes(4).toString('hex')}`);
    const h = await open(probe, 'wx');
    await h.close();
    await unlink(probe);
  }
}
