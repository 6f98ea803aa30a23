/**
 * The web root (apps/web/dist, served at / without authentication) must not
 * hold recordings or the embedded database: anything inside it would be served
 * to anyone who guesses a path. Checked once at start.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config.js';

/** The real path of `p` (symlinks resolved), as far as it exists; the rest is appended as written. */
function real(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(real(parent), path.basename(abs));
  }
}

/**
 * True when `inner` is `outer` or lies anywhere below it, compared on real paths segment by segment: the
 * relative path climbs out only when its first segment is exactly `..` (`..rec` is a name inside), and an
 * absolute one (another drive) is outside.
 */
export function isInside(inner: string, outer: string): boolean {
  const rel = path.relative(real(outer), real(inner));
  if (rel === '') return true;
  if (path.isAbsolute(rel)) return false;
  return rel.split(path.sep)[0] !== '..';
}

/** Throws a ConfigError naming the variable when local recordings or the embedded database would be served as pages. */
export function assertOutsideWebRoot(
  config: Pick<Config, 'storageBackend' | 'storagePath' | 'databaseUrl' | 'dataDir'>,
  webRoot: string,
): void {
  if (config.storageBackend === 'local' && isInside(config.storagePath, webRoot)) {
    throw new ConfigError(
      'SORTIE_RECORDING_STORAGE_PATH',
      `must not be inside the web root ${webRoot}, which is served without authentication`,
    );
  }
  if (!config.databaseUrl && !config.dataDir.startsWith('memory://') && isInside(config.dataDir, webRoot)) {
    throw new ConfigError(
      'SORTIE_DATA_DIR',
      `must not be inside the web root ${webRoot}, which is served without authentication`,
    );
  }
}
