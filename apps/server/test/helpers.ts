/**
 * Test dependencies: a real database (a fresh database on the PostgreSQL at
 * 127.0.0.1:5432, or a throwaway embedded server, chosen by SORTIE_TEST_DB), a temporary storage folder,
 * the real app, and tokens for a user, a second user, an admin and an auditor.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sign } from 'hono/jwt';
import { createApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { migrate, openDatabase, type Database } from '../src/db/client.js';
import { memoryLogger } from '../src/lib/logger.js';
import type { Clock } from '../src/lib/clock.js';
import { SettingsService } from '../src/settings/service.js';
import { createStorage } from '../src/storage/index.js';
import type { RecordingStorage } from '../src/storage/types.js';

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';
export const TEST_DB = (process.env.SORTIE_TEST_DB ?? 'postgres') as 'embedded' | 'postgres';
export const PG_ADMIN_URL = process.env.SORTIE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A database of its own for one test file: a throwaway embedded server, or a fresh PostgreSQL database dropped on
 * close. `migrated: false` leaves it empty, as a first install finds it (for the processes that migrate it).
 */
export async function testDatabase(
  kind: 'embedded' | 'postgres' = TEST_DB,
  { migrated = true }: { migrated?: boolean } = {},
): Promise<Database & { url: string | null }> {
  if (kind === 'embedded') {
    const db = await openDatabase({ databaseUrl: null, dataDir: 'memory://' });
    if (migrated) await migrate(db);
    return { ...db, url: null };
  }
  const { default: postgres } = await import('postgres');
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  const name = `sortie_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  if (migrated) await migrate(db);
  return {
    ...db,
    url: url.toString(),
    async close() {
      await db.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    SORTIE_VIDEO_RECORDING_ENABLED: 'true',
    SORTIE_AUTH_JWT_SECRET: TEST_SECRET,
    // Suites create many recordings per user; the caps have tests of their own (test/user-caps.test.ts).
    SORTIE_RECORDING_MAX_OPEN_PER_USER: '1000',
    ...env,
  });
}

export async function token(
  claims: Record<string, unknown>,
  opts: { expiresIn?: number; secret?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ iat: now, exp: now + (opts.expiresIn ?? 3600), ...claims }, opts.secret ?? TEST_SECRET, 'HS256');
}

/** A controllable clock for jobs and expiry. */
export function fakeClock(start = new Date()): Clock & { set(d: Date): void; advance(ms: number): void } {
  let t = start.getTime();
  return { now: () => new Date(t), set: (d) => (t = d.getTime()), advance: (ms) => (t += ms) };
}

export interface TestApp {
  config: Config;
  database: Database;
  storage: RecordingStorage;
  app: ReturnType<typeof createApp>['app'];
  service: ReturnType<typeof createApp>;
  logger: ReturnType<typeof memoryLogger>;
  storagePath: string;
  /** The deployment's key of the service's signed URLs. */
  signingKey: string;
  /** Authorization headers. */
  auth: {
    user: Record<string, string>;
    other: Record<string, string>;
    admin: Record<string, string>;
    auditor: Record<string, string>;
  };
  /** app.request with a JSON body. */
  json(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /**
   * Sends a request to a URL the service handed out: through the app when it
   * points at the service (a local part PUT, /api/files), over the network
   * with fetch when it points elsewhere (a presigned S3 URL).
   */
  send(url: string, init?: RequestInit): Promise<Response>;
  /** The environment the app's config was read from (to build a second replica like it). */
  env: Record<string, string>;
  /** keepStorage: leave the storage folder for another app that shares it. */
  close(opts?: { keepStorage?: boolean }): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  clock?: Clock;
  /** Share a database between several apps (two replicas). */
  database?: Database;
  /** Builds the storage instead of createStorage (a backend with a fault injected). */
  makeStorage?: (config: Config, signingKey: string) => Promise<RecordingStorage>;
}

export async function testApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const storagePath = await mkdtemp(path.join(tmpdir(), 'sortie-test-'));
  const env = { SORTIE_RECORDING_STORAGE_PATH: storagePath, ...(await storageEnv()), ...opts.env };
  const config = testConfig(env);
  const ownDb = !opts.database;
  const database = opts.database ?? (await testDatabase());
  const clock = opts.clock ?? { now: () => new Date() };
  const logger = memoryLogger();
  const signingKey = await new SettingsService(database.db, clock).signingKey();
  const storage = opts.makeStorage
    ? await opts.makeStorage(config, signingKey)
    : await createStorage(config, { signingKey });
  const service = createApp({ config, database, storage, clock, logger, signingKey });
  const bearer = async (claims: Record<string, unknown>) => ({ authorization: `Bearer ${await token(claims)}` });
  const auth = {
    user: await bearer({ sub: 'u-1', name: 'Ada Lovelace' }),
    other: await bearer({ sub: 'u-2', name: 'Grace Hopper' }),
    admin: await bearer({ sub: 'admin-1', name: 'Root Admin', role: 'admin' }),
    // The list form of the role claim (`roles`), where the admin's token has the single `role`: both are read.
    auditor: await bearer({ sub: 'auditor-1', name: 'Ida Auditor', roles: ['staff', 'auditor'] }),
  };
  return {
    config,
    database,
    storage,
    app: service.app,
    service,
    logger,
    storagePath,
    signingKey,
    auth,
    env,
    async json(method, p, body, headers = {}) {
      return service.app.request(p, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async send(url, init) {
      // app.request answers relative URLs and the origin it derives itself (http://localhost).
      const external = /^https?:\/\//.test(url) && new URL(url).origin !== 'http://localhost';
      return external ? fetch(url, init) : service.app.request(url, init);
    },
    async close(closeOpts = {}) {
      if (ownDb) await database.close();
      if (!closeOpts.keepStorage) await rm(storagePath, { recursive: true, force: true });
    },
  };
}

export const TEST_STORAGE = (process.env.SORTIE_TEST_STORAGE ?? 'local') as 'local' | 's3';

/**
 * Extra configuration for the storage backend under test (SORTIE_TEST_STORAGE).
 * For s3: the loopback S3 server of this test file (started on first use) and
 * a key prefix of this app's own; local needs nothing beyond the temp folder.
 */
export async function storageEnv(): Promise<Record<string, string>> {
  if (TEST_STORAGE !== 's3') return {};
  // Loaded only here: the local runs never pay for starting s3rver's modules.
  const { s3Env, sharedS3Server } = await import('./s3-server.js');
  return s3Env(await sharedS3Server(), `t-${randomBytes(6).toString('hex')}/`);
}

/**
 * Whether `etag` (quoted, as a PUT answered it) validates `bytes`: S3's ETag is
 * their MD5; the local backend's is their CRC-32C and length, then a nonce
 * naming the stored version (docs/API.md, "Upload protocol").
 */
export function etagValidates(backend: 'local' | 's3', etag: string, bytes: Uint8Array): boolean {
  const m = /^"(.*)"$/.exec(etag);
  if (!m) return false;
  if (backend === 's3') return m[1] === createHash('md5').update(bytes).digest('hex');
  return new RegExp(`^${crc32c(bytes).toString(16).padStart(8, '0')}-${bytes.length.toString(16)}-[0-9a-f]{16}$`).test(
    m[1]!,
  );
}

/** Sends `bytes` to a tail target as the SDK does: a form upload, the policy's fields first, the file last. */
export function postTail(
  target: { url: string; fields: Record<string, string> },
  bytes: Uint8Array,
): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(bytes)]));
  return fetch(target.url, { method: 'POST', body: form });
}
