/**
 * `pnpm bench:load`: many recorders against one compiled service (local
 * backend, a fresh PostgreSQL database on BENCH_PG_URL), beside a bare
 * node:http server piping each PUT to disk, in the same run. Two shapes of the
 * same ~2 Mbit/s per recorder: a 1 MiB part every 4 s (the SDK's default
 * rhythm), and a 256 KiB part every second. For each it prints errors, part
 * latency p50/p99 (for the service, as the SDK sends a part there: one PUT to
 * the recording's parts URL, or with BENCH_TWO_STEP=1 POST /parts + PUT as
 * before parts URLs and as on S3; the PUT alone for the bare pipe), and server CPU-seconds per GiB received, read from
 * /proc/<pid>/stat (utime + stime) of the server process alone; for the
 * service also what its PostgreSQL backends spent, and CPU milliseconds per
 * part; and the whole machine's busy CPU-seconds per GiB from /proc/stat, counted until the run's bytes
 * are on the disk (the kernel's write-back threads do disk work a process figure misses). The
 * recorders run in a process of their own (load-client.ts), the
 * same for both servers; each creates its recording when it starts (starts
 * spread over the first interval), so the first interval carries a create per
 * recorder on top of the parts. Latency is printed for every part, and for the
 * parts started after a warm-up of two intervals (the steady state); for the
 * service in two steps also its two requests apart. Below the table: per-thread CPU of each
 * server (main thread; libuv's pool; V8's) and the recorders' own CPU.
 *
 * Env: BENCH_RECORDERS (default 500), BENCH_SECONDS per run (default 30),
 * BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_SHAPES (default "4000:1048576,1000:262144": interval ms:part bytes, comma-separated),
 * BENCH_SERVICE_NODE_FLAGS (extra node flags for the service, e.g. --cpu-prof),
 * BENCH_SERVICE_STDOUT (a file for the service's log lines: one per request, with its duration),
 * BENCH_SERVICE_ENTRY (another build's dist/index.js, to compare two builds in one window; a build
 * without parts URLs is sent two requests a part), BENCH_TWO_STEP=1 (POST /parts + PUT for every part).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const RECORDERS = Number(process.env.BENCH_RECORDERS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SHAPES = (process.env.BENCH_SHAPES ?? '4000:1048576,1000:262144').split(',').map((s) => {
  const [interval, bytes] = s.split(':').map(Number);
  return { intervalMs: interval!, partBytes: bytes! };
});
const SECRET = randomBytes(32).toString('hex');
/** Extra node flags for the service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where its time goes. */
const NODE_FLAGS = (process.env.BENCH_SERVICE_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const here = path.dirname(fileURLToPath(import.meta.url));
const GiB = 1024 ** 3;
const TICK = 100; // getconf CLK_TCK on Linux

function start(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = /"msg":"listening".*?"port":(\d+)/.exec(buf);
      if (m) {
        // From here on its output (a log line per request) is read and dropped (BENCH_SERVICE_STDOUT: kept in that file).
        child.stdout!.off('data', onData);
        if (process.env.BENCH_SERVICE_STDOUT) child.stdout!.pipe(createWriteStream(process.env.BENCH_SERVICE_STDOUT));
        else child.stdout!.resume();
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** CPU seconds (user + system) of each of a process's threads: "main" (JavaScript, sockets) and the others by id. */
async function threadSeconds(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => null);
    if (!stat) continue;
    const name = Number(tid) === pid ? 'main' : `thread ${tid}`;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICK);
  }
  return out;
}

/**
 * CPU seconds the whole machine has been busy so far (/proc/stat, every CPU, idle and iowait left
 * out): the recorders, the servers, PostgreSQL and the kernel's own threads (write-back, the
 * journal) together. A server's process figure misses the disk work the kernel does for it in
 * threads of its own, which depends on when the pages are flushed, not on how much is written.
 */
async function machineBusySeconds(): Promise<number> {
  const first = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = first.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICK;
}

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

interface ClientResult {
  parts: number;
  sentBytes: number;
  late: number;
  errors: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  url: { p50: number; p99: number };
  put: { p50: number; p99: number };
  steady: { p50: number; p99: number };
  clientCpu: number;
}

function runClient(env: Record<string, string>): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'load-client.ts')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load client exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as ClientResult);
    });
  });
}

async function main() {
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const dbName = `sortie_bench_load_${process.pid}`;
  await admin.unsafe(`create database ${dbName}`);
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${dbName}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'sortie-bench-load-'));
  const children: ChildProcess[] = [];
  const rows: string[] = [];
  let peakRss = NaN;
  try {
    const bare = await start(['--import', 'tsx', path.join(here, 'bare-server.ts'), dir], {});
    children.push(bare.child);
    const svc = await start([...NODE_FLAGS, process.env.BENCH_SERVICE_ENTRY ?? path.join(here, '../dist/index.js')], {
      PORT: '0',
      HOST: '127.0.0.1',
      SORTIE_VIDEO_RECORDING_ENABLED: 'true',
      SORTIE_AUTH_JWT_SECRET: SECRET,
      DATABASE_URL: dbUrl.toString(),
      SORTIE_RECORDING_STORAGE_PATH: path.join(dir, 'rec'),
      SORTIE_RECORDING_MIN_FREE_MB: '0',
    });
    children.push(svc.child);

    for (const shape of SHAPES) {
      for (const target of ['bare', 'service'] as const) {
        // The page cache's dirty pages go to the disk first (not measured): no run meets the
        // write-back of the one before it.
        execFileSync('sync');
        const pid = target === 'bare' ? bare.child.pid! : svc.child.pid!;
        const port = target === 'bare' ? bare.port : svc.port;
        // The service's PostgreSQL backends (its pool's connections) are processes of their own.
        const backends = (await admin.unsafe(`select pid from pg_stat_activity where datname = '${dbName}'`)).map((r) =>
          Number(r.pid),
        );
        const cpu0 = await cpuSeconds(pid);
        const machine0 = await machineBusySeconds();
        const threads0 = await threadSeconds(pid);
        const db0 = (await Promise.all(backends.map(cpuSeconds))).reduce((a, b) => a + b, 0);
        const load0 = loadavg()[0]!;
        const result = await runClient({
          TARGET: target,
          BASE: `http://127.0.0.1:${port}`,
          RECORDERS: String(RECORDERS),
          INTERVAL_MS: String(shape.intervalMs),
          PART_BYTES: String(shape.partBytes),
          SECONDS: String(SECONDS),
          SECRET,
        });
        const cpu = (await cpuSeconds(pid)) - cpu0;
        // The machine's figure counts until every byte of the run is on the disk: the service flushes a part
        // FLUSH_DELAY_MS (5 s) after storing it, the bare server never (sync writes its pages back).
        await new Promise((r) => setTimeout(r, 6000));
        execFileSync('sync');
        const machine = (await machineBusySeconds()) - machine0;
        const threads = [...(await threadSeconds(pid))]
          .map(([name, s]) => [name, s - (threads0.get(name) ?? 0)] as const)
          .filter(([, s]) => s >= 0.05)
          .sort((a, b) => b[1] - a[1]);
        const laterBackends = (await admin.unsafe(`select pid from pg_stat_activity where datname = '${dbName}'`)).map(
          (r) => Number(r.pid),
        );
        // Backends opened during the run count from zero.
        const db =
          (await Promise.all(laterBackends.map(cpuSeconds))).reduce((a, b) => a + b, 0) -
          db0 * Number(backends.every((b) => laterBackends.includes(b)));
        const gib = result.sentBytes / GiB;
        const errors = Object.entries(result.errors)
          .map(([k, v]) => `${k}×${v}`)
          .join(' ');
        rows.push(
          [
            `${(shape.partBytes / 1024).toFixed(0)} KiB/${shape.intervalMs / 1000}s`.padEnd(14),
            target.padEnd(8),
            String(result.parts).padStart(6),
            (errors || '0').padEnd(10),
            `${result.p50.toFixed(1)}`.padStart(8),
            `${result.p99.toFixed(1)}`.padStart(8),
            `${(cpu / gib).toFixed(2)}`.padStart(8),
            target === 'service' ? `${(db / gib).toFixed(2)}`.padStart(8) : '       -',
            `${((cpu * 1000) / result.parts).toFixed(2)}`.padStart(7),
            target === 'service' ? `${((db * 1000) / result.parts).toFixed(2)}`.padStart(7) : '      -',
            String(result.late).padStart(6),
            `${load0.toFixed(1)}→${loadavg()[0]!.toFixed(1)}`,
          ].join(' '),
        );
        console.error(rows.at(-1));
        // Where the server's CPU went, by thread: the main thread (JavaScript, the sockets),
        // libuv's pool (file system calls), V8's (GC, compilation).
        if (target === 'service')
          console.error(
            `  ${!Number.isNaN(result.url.p50) && result.url.p50 !== null ? `POST /parts p50 ${result.url.p50.toFixed(1)} p99 ${result.url.p99.toFixed(1)} ms; ` : 'one PUT a part (parts URL); '}PUT p50 ${result.put.p50.toFixed(1)} p99 ${result.put.p99.toFixed(1)} ms; after the warm-up (2 intervals) p50 ${result.steady.p50.toFixed(1)} p99 ${result.steady.p99.toFixed(1)} ms`,
          );
        console.error(
          `  the whole machine until the bytes are on the disk: ${(machine / gib).toFixed(2)} CPU-s/GiB (${machine.toFixed(1)} CPU-s: the recorders, the server, PostgreSQL, the kernel's threads)`,
        );
        console.error(
          `  recorders' own CPU ${result.clientCpu.toFixed(1)} s; ${target} threads (CPU-s): ${threads.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(', ')}`,
        );
        // The bare server keeps every file it gets: the next run starts without them.
        for (const name of await readdir(dir)) if (name.startsWith('bare-')) await rm(path.join(dir, name));
      }
    }
    // The service's peak resident memory over every run (VmHWM): the recordings stream through it.
    const status = await readFile(`/proc/${svc.child.pid}/status`, 'utf8');
    peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  } finally {
    for (const c of children) c.kill();
    await rm(dir, { recursive: true, force: true });
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
  console.log(`${RECORDERS} recorders, ${SECONDS} s per run, one compiled service on PostgreSQL (local backend)`);
  console.log(
    [
      'shape'.padEnd(14),
      'server'.padEnd(8),
      ' parts',
      'errors'.padEnd(10),
      '  p50 ms',
      '  p99 ms',
      'CPU-s/GiB',
      'DB CPU-s/GiB',
      'CPU ms/part',
      'DB ms/part',
      ' late',
      'load',
    ].join(' '),
  );
  for (const r of rows) console.log(r);
  console.log(`service peak RSS: ${peakRss.toFixed(0)} MB`);
}

await main();
