/**
 * `pnpm bench:upload`: sends a 1 GiB recording through the service's local
 * PUT path on loopback and compares it with a bare node:http server piping to
 * disk, measured in the same run. Both servers run as child processes so the
 * service's peak RSS (VmHWM) is its own.
 *
 * The service keeps its metadata in PostgreSQL (a fresh database on
 * BENCH_PG_URL, default the local server) so that the RSS figure is the upload
 * path's own; with BENCH_PG_URL=embedded it uses the embedded default instead
 * (no DATABASE_URL: the service starts its own PostgreSQL server).
 *
 * The service runs compiled (dist/, as in the container image), without tsx's loader.
 *
 * Before each timed run the page cache's dirty pages are written out (`sync`, not timed), so that
 * no run pays for the write-back of another's gigabyte. Each run prints two rates: to the last
 * part's answer, and to its bytes on the disk (the answer, then `sync`, timed), since the service
 * flushes each stored part to the disk as it goes and a bare pipe leaves its bytes to the kernel.
 *
 * Env: BENCH_TOTAL_MIB (default 1024), BENCH_PART_MIB (default 64), BENCH_ROUNDS (default 3),
 * BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_SERVICE_NODE_FLAGS (node flags
 * for the service, space-separated: `--cpu-prof --cpu-prof-dir=/tmp/prof`, `--trace-gc`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TOTAL_MIB = Number(process.env.BENCH_TOTAL_MIB ?? 1024);
const PART_MIB = Number(process.env.BENCH_PART_MIB ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MiB = 1048576;
const here = path.dirname(fileURLToPath(import.meta.url));
const block = randomBytes(MiB);

function start(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // Plain node (not the tsx wrapper) so that child.pid is the server itself.
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"msg":"listening".*?"port":(\d+)/.exec(buf);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** PUTs `mib` MiB of the same random block, streamed, never held whole. */
function putStream(url: string, mib: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'PUT',
      headers: { 'content-length': mib * MiB, 'content-type': 'application/octet-stream' },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < mib) {
        sent++;
        if (!req.write(block)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

async function json(
  method: string,
  url: string,
  token: string | null,
  body?: unknown,
): Promise<Record<string, string>> {
  const r = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${method} ${url} → ${r.status} ${await r.text()}`);
  return (await r.json()) as Record<string, string>;
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** PSS (shared pages split between their users) of a process's descendants: the embedded PostgreSQL's processes. */
async function descendantsPssMb(pid: number): Promise<{ count: number; mb: number }> {
  let count = 0;
  let kb = 0;
  const walk = async (p: number) => {
    const tasks = await readdir(`/proc/${p}/task`).catch(() => [] as string[]);
    for (const t of tasks) {
      const children = (await readFile(`/proc/${p}/task/${t}/children`, 'utf8').catch(() => ''))
        .split(' ')
        .filter(Boolean)
        .map(Number);
      for (const c of children) {
        const rollup = await readFile(`/proc/${c}/smaps_rollup`, 'utf8').catch(() => '');
        const m = /^Pss:\s+(\d+) kB/m.exec(rollup);
        if (m) {
          count++;
          kb += Number(m[1]);
        }
        await walk(c);
      }
    }
  };
  await walk(pid);
  return { count, mb: kb / 1024 };
}

async function main() {
  const dir = await mkdtemp(path.join(tmpdir(), 'sortie-bench-'));
  // mkdtemp makes it 0700; as root the embedded PostgreSQL runs as `postgres`, which must reach its data folder.
  await chmod(dir, 0o755);
  const parts = Math.ceil(TOTAL_MIB / PART_MIB);
  let databaseUrl = '';
  let dropDb: (() => Promise<void>) | null = null;
  if (PG_URL !== 'embedded') {
    const { default: postgres } = await import('postgres');
    const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
    const name = `sortie_bench_${process.pid}`;
    await admin.unsafe(`create database ${name}`);
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    dropDb = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  }
  const bare = await start(['--import', 'tsx', path.join(here, 'bare-server.ts'), dir], {});
  // The same pipe with the service's 1 MiB write buffer: how much of the service's figure is that buffer.
  const tuned = await start(['--import', 'tsx', path.join(here, 'bare-server.ts'), dir], {
    BARE_WRITE_BUFFER: String(MiB),
  });
  // The service as the image runs it: compiled JavaScript (`pnpm bench:upload` builds dist/ first).
  const nodeArgs = process.env.BENCH_SERVICE_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const svc = await start([...nodeArgs, path.join(here, '../dist/index.js')], {
    PORT: '0',
    HOST: '127.0.0.1',
    SORTIE_DEMO: 'true',
    SORTIE_VIDEO_RECORDING_ENABLED: 'true',
    SORTIE_DATA_DIR: path.join(dir, 'db'),
    SORTIE_RECORDING_STORAGE_PATH: path.join(dir, 'rec'),
    SORTIE_RECORDING_MAX_SIZE_MB: String(TOTAL_MIB * 2),
    DATABASE_URL: databaseUrl,
  });
  const api = `http://127.0.0.1:${svc.port}`;
  const { token } = (await json('POST', `${api}/api/demo/token`, null, { as: 'user' })) as { token: string };
  const rssAtStart = await peakRssMb(svc.child.pid!);
  const loadBefore = loadavg()[0]!;

  type Rates = { answered: number; onDisk: number };
  const results: { bare: Rates[]; tuned: Rates[]; service: Rates[] } = { bare: [], tuned: [], service: [] };
  /**
   * Two rates for one run: to the last part's answer, and to its bytes on the disk (the answer,
   * then `sync`, timed). The service flushes each part to the disk right after storing it (the
   * p99 of bench:load depends on it), so during its run it writes the bytes a bare pipe leaves in
   * the page cache for later; the second rate puts both on the same footing.
   */
  const rates = (t0: number, answeredAt: number): Rates => {
    execFileSync('sync');
    const mib = parts * PART_MIB;
    return { answered: mib / ((answeredAt - t0) / 1000), onDisk: mib / ((performance.now() - t0) / 1000) };
  };
  const baseline = async (port: number): Promise<Rates> => {
    const t0 = performance.now();
    for (let p = 0; p < parts; p++) await putStream(`http://127.0.0.1:${port}/`, PART_MIB);
    const r = rates(t0, performance.now());
    for (const name of await readdir(dir)) if (name.startsWith('bare-')) await rm(path.join(dir, name));
    return r;
  };
  // The service, as the SDK sends a part on local: create, then PUT each part to the parts URL
  // (one request a part). BENCH_TWO_STEP=1: ask /parts for each part's URL, then PUT to it.
  const twoStep = process.env.BENCH_TWO_STEP === '1';
  const service = async (round: number): Promise<Rates> => {
    const rec = (await json('POST', `${api}/api/recordings`, token, {
      sessionId: `bench-${round}`,
      mimeType: 'video/webm',
    })) as unknown as { id: string; partsUrl?: { url: string } };
    const t0 = performance.now();
    for (let p = 1; p <= parts; p++) {
      const url =
        rec.partsUrl && !twoStep
          ? `${rec.partsUrl.url}/${p}`
          : (
              await json('POST', `${api}/api/recordings/${rec.id}/parts`, token, {
                partNumber: p,
                sizeBytes: PART_MIB * MiB,
              })
            ).url!;
      const status = await putStream(url, PART_MIB);
      if (status !== 200) throw new Error(`part ${p} answered ${status}`);
    }
    const r = rates(t0, performance.now());
    await json('POST', `${api}/api/recordings/${rec.id}/fail`, token, { reason: 'benchmark data' });
    return r;
  };
  const runs: [keyof typeof results, () => Promise<Rates>][] = [
    ['bare', () => baseline(bare.port)],
    ['tuned', () => baseline(tuned.port)],
    ['service', () => service(0)],
  ];
  for (let round = 0; round < ROUNDS; round++) {
    // The three interleave, and each round starts with the next one (A/B/C, B/C/A, C/A/B): whichever
    // runs after the others' gigabytes meets the disk's writeback of them, so no one always does.
    for (let i = 0; i < runs.length; i++) {
      const [name, run] = runs[(round + i) % runs.length]!;
      execFileSync('sync');
      results[name].push(await run());
    }
  }
  const peak = await peakRssMb(svc.child.pid!);
  // The service's own count of its garbage collections (prom-client's, from V8's gc events): a
  // mark-compact marks the whole heap, and in a service streaming bytes they came every ~26 MiB
  // before lib/heap.ts.
  const metricsText = await (await fetch(`${api}/metrics`)).text();
  const gcMetric = (name: string) =>
    Number(
      new RegExp(`^nodejs_gc_duration_seconds_${name}\\{kind="major"\\} (\\S+)`, 'm').exec(metricsText)?.[1] ?? NaN,
    );
  const pg = await descendantsPssMb(svc.child.pid!);
  bare.child.kill();
  tuned.child.kill();
  // Its SIGTERM handler stops the embedded PostgreSQL too: wait for that before removing its folder.
  await new Promise((resolve) => {
    svc.child.once('exit', resolve);
    svc.child.kill();
  });
  await rm(dir, { recursive: true, force: true });
  await dropDb?.();

  const best = (xs: number[]) => Math.max(...xs);
  const f = (x: number) => x.toFixed(0);
  console.log(
    `upload ${parts * PART_MIB} MiB as ${parts} parts of ${PART_MIB} MiB, ${ROUNDS} rounds, loopback, metadata in ${databaseUrl ? 'PostgreSQL' : 'the embedded PostgreSQL'}`,
  );
  for (const [label, key] of [
    ['to the last answer', 'answered'],
    ['on the disk (answer + sync)', 'onDisk'],
  ] as const) {
    const of = (name: keyof typeof results) => results[name].map((r) => r[key]);
    console.log(`${label}:`);
    console.log(`  bare node:http pipe : ${of('bare').map(f).join(', ')} MiB/s (best ${f(best(of('bare')))})`);
    console.log(`  same, 1 MiB buffer  : ${of('tuned').map(f).join(', ')} MiB/s (best ${f(best(of('tuned')))})`);
    console.log(`  sortie local PUT    : ${of('service').map(f).join(', ')} MiB/s (best ${f(best(of('service')))})`);
    console.log(
      `  ratio (best/best)   : ${(best(of('service')) / best(of('bare'))).toFixed(2)} to the bare pipe, ${(best(of('service')) / best(of('tuned'))).toFixed(2)} to the pipe with the service's buffer`,
    );
  }
  console.log(`load average        : ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
  console.log(`service peak RSS    : ${peak.toFixed(0)} MB (at start ${rssAtStart.toFixed(0)} MB)`);
  console.log(
    `service mark-compacts: ${gcMetric('count')} in the whole run (${(gcMetric('sum') * 1000).toFixed(0)} ms of pauses)`,
  );
  if (!databaseUrl) {
    console.log(`embedded PostgreSQL : ${pg.count} processes, ${pg.mb.toFixed(0)} MB PSS after the uploads`);
  }
}

await main();
