/**
 * `pnpm bench:complete`: how long `POST /:id/complete` takes for a 512 MiB
 * recording on the local backend, as 512 × 1 MiB parts and as 8 × 64 MiB
 * parts, beside a baseline measured in the same run: `cat` of the same part
 * files into one file (what a join by copying costs at the least). Prints
 * figures only.
 *
 * The service runs in this process on PostgreSQL (a fresh database on
 * BENCH_PG_URL, default the local server), parts go through its real PUT
 * route, and the download is checked byte for byte against what was sent.
 *
 * Env: BENCH_TOTAL_MIB (default 512), BENCH_PG_URL.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sign } from 'hono/jwt';
import postgres from 'postgres';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrate, openDatabase } from '../src/db/client.js';
import { createLogger } from '../src/lib/logger.js';
import { SettingsService } from '../src/settings/service.js';
import { createStorage } from '../src/storage/index.js';

const TOTAL_MIB = Number(process.env.BENCH_TOTAL_MIB ?? 512);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = randomBytes(32).toString('hex');
const MiB = 1048576;

async function main() {
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const dbName = `sortie_bench_${process.pid}`;
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(PG_URL);
  url.pathname = `/${dbName}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'sortie-bench-complete-'));
  const config = loadConfig({
    SORTIE_VIDEO_RECORDING_ENABLED: 'true',
    SORTIE_AUTH_JWT_SECRET: SECRET,
    DATABASE_URL: url.toString(),
    SORTIE_RECORDING_STORAGE_PATH: path.join(dir, 'recordings'),
    SORTIE_RECORDING_MAX_SIZE_MB: String(TOTAL_MIB * 2),
    SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER: String(TOTAL_MIB * 4),
    SORTIE_RECORDING_MIN_FREE_MB: '0',
  });
  const database = await openDatabase(config);
  await migrate(database);
  const clock = { now: () => new Date() };
  const signingKey = await new SettingsService(database.db, clock).signingKey();
  const storage = await createStorage(config, { signingKey });
  const { app } = createApp({
    config,
    database,
    storage,
    clock,
    logger: createLogger({ service: 'bench' }, () => {}),
    signingKey,
  });
  const now = Math.floor(Date.now() / 1000);
  const auth = { authorization: `Bearer ${await sign({ sub: 'bench', exp: now + 3600 }, SECRET, 'HS256')}` };
  const json = (method: string, p: string, body?: unknown) =>
    app.request(p, {
      method,
      headers: { ...auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  console.log(
    `bench:complete — ${TOTAL_MIB} MiB on the local backend, PostgreSQL metadata; load average ${(
      await import('node:os')
    )
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  try {
    for (const partMib of [1, 64]) {
      const count = Math.max(1, Math.floor(TOTAL_MIB / partMib));
      const created = (await (
        await json('POST', '/api/recordings', { sessionId: `bench-${partMib}`, mimeType: 'video/webm' })
      ).json()) as { id: string };
      const sent = createHash('md5');
      const parts: { partNumber: number; etag: string }[] = [];
      for (let n = 1; n <= count; n++) {
        const bytes = randomBytes(partMib * MiB);
        sent.update(bytes);
        const target = (await (
          await json('POST', `/api/recordings/${created.id}/parts`, { partNumber: n, sizeBytes: bytes.length })
        ).json()) as { url: string };
        const put = await app.request(new URL(target.url).pathname, { method: 'PUT', body: bytes });
        if (put.status !== 200) throw new Error(`part ${n}: ${put.status} ${await put.text()}`);
        parts.push({ partNumber: n, etag: put.headers.get('etag')! });
      }
      // Baseline: copying the same part files into one, as a join by copy must at least.
      const partsDir = path.join(dir, 'recordings', '.parts', `${created.id}.webm`);
      const files = (await readdir(partsDir))
        .filter((f) => !f.endsWith('.tmp'))
        .sort()
        .map((f) => path.join(partsDir, f));
      const catOut = path.join(dir, 'cat.out');
      const c0 = process.hrtime.bigint();
      execFileSync('sh', ['-c', 'cat "$@" > "$0" && sync "$0"', catOut, ...files]);
      const catMs = Number(process.hrtime.bigint() - c0) / 1e6;
      await rm(catOut);

      const t0 = process.hrtime.bigint();
      const done = await json('POST', `/api/recordings/${created.id}/complete`, { durationMs: 1000, parts });
      const completeMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (done.status !== 200) throw new Error(`complete: ${done.status} ${await done.text()}`);

      const dl = await app.request(`/api/recordings/${created.id}/download`, { headers: auth });
      const got = createHash('md5');
      for await (const chunk of dl.body as unknown as AsyncIterable<Uint8Array>) got.update(chunk);
      const identical = got.digest('hex') === sent.digest('hex');
      console.log(
        `${String(count).padStart(4)} × ${String(partMib).padStart(2)} MiB: complete ${completeMs.toFixed(1)} ms; cat of the same files ${catMs.toFixed(1)} ms; ratio ${(completeMs / catMs).toFixed(3)}; download byte-identical: ${identical}`,
      );
    }
  } finally {
    await database.close();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
