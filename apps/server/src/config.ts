/**
 * The only reader of process.env. Parses and validates every variable of
 * docs/API.md "1. Configuration" once, at start, and fails with one sentence naming the variable.
 */

export type StorageBackend = 'local' | 's3';

export interface Config {
  recordingEnabled: boolean;
  storageBackend: StorageBackend;
  storagePath: string;
  /** SORTIE_RECORDING_MAX_SIZE_MB × 1 MiB. */
  maxSizeBytes: number;
  maxSizeMb: number;
  /** 0 keeps recordings forever. */
  retentionDays: number;
  s3: {
    bucket: string | null;
    region: string;
    endpoint: string | null;
    prefix: string;
  };
  port: number;
  host: string;
  databaseUrl: string | null;
  dataDir: string;
  publicUrl: string | null;
  auth: {
    jwtSecret: string | null;
    jwksUrl: string | null;
  };
  corsOrigins: string[];
  demo: boolean;
  nodeEnv: string;
  /** NODE_ENV is production, prod (any case): demo mode refused, SORTIE_PUBLIC_URL required with recording. */
  production: boolean;
  /** Minutes without a new part after which a recording counts as abandoned. */
  abandonedAfterMinutes: number;
  /** Per-user caps, so one account cannot fill the disk or the table. */
  perUser: {
    /** SORTIE_RECORDING_MAX_OPEN_PER_USER: recordings in `recording`/`uploading` at once. */
    maxOpenRecordings: number;
    /**
     * SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER × 1 MiB: bytes their parts reserve or store, and their
     * thumbnails (also those of recordings ended under a minute ago).
     */
    maxReservedBytes: number;
    /** SORTIE_RECORDING_MAX_MARKER_KB_PER_USER × 1 KiB: bytes of their markers (label and data as JSON). */
    maxMarkerBytes: number;
  };
  /** Limits on part bodies received through the service (local backend). */
  uploads: {
    /** SORTIE_UPLOAD_MAX_CONCURRENT: part bodies being received at once, in all. */
    maxConcurrent: number;
    /** SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER. */
    maxConcurrentPerUser: number;
    /** SORTIE_UPLOAD_IDLE_TIMEOUT_SECONDS × 1000: the longest wait for the next byte of a body. */
    idleTimeoutMs: number;
    /** SORTIE_UPLOAD_MIN_BYTES_PER_SECOND: the slowest average rate a body may keep after its first idle timeout. */
    minBytesPerSecond: number;
  };
  /** Time limits of every HTTP request but part bodies (which have uploads' watchdog instead). */
  http: {
    /** SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS × 1000: the longest a client may take to send a request's headers. */
    headersTimeoutMs: number;
    /** SORTIE_HTTP_BODY_TIMEOUT_SECONDS × 1000: the longest the body of a request other than a part may take. */
    bodyTimeoutMs: number;
  };
  /** SORTIE_RECORDING_MIN_FREE_MB × 1 MiB: below this much free disk the local backend is not ready and refuses parts. */
  minFreeBytes: number;
  /** What the SDK captures with unless the page says otherwise (GET /api/recordings/config hands these out). */
  capture: {
    /** SORTIE_RECORDING_FRAME_RATE: frames per second. */
    frameRate: number;
    /** SORTIE_RECORDING_VIDEO_BITRATE_KBPS × 1000: the encoder's target, bits per second. */
    videoBitsPerSecond: number;
  };
}

/** A bad environment variable: the message is the one line printed at start. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return dflt;
  const l = v.toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  throw new ConfigError(name, `expected true, false, 1 or 0, got "${v}"`);
}

function int(env: Env, name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = str(env, name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `expected a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${n}`);
  return n;
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const v = str(env, name);
  if (v === undefined) return null;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(name, `expected a URL, got "${v}"`);
  }
  if (!protocols.includes(u.protocol)) {
    throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got "${u.protocol}"`);
  }
  return v;
}

/** NODE_ENV=production in any spelling an operator might use: production, Production, PRODUCTION, prod. */
export function isProduction(nodeEnv: string): boolean {
  return /^(production|prod)$/i.test(nodeEnv.trim());
}

export function loadConfig(env: Env = process.env): Config {
  const backend = str(env, 'SORTIE_RECORDING_STORAGE_BACKEND') ?? 'local';
  if (backend !== 'local' && backend !== 's3') {
    throw new ConfigError('SORTIE_RECORDING_STORAGE_BACKEND', `expected "local" or "s3", got "${backend}"`);
  }
  const maxSizeMb = int(env, 'SORTIE_RECORDING_MAX_SIZE_MB', 500, 1, 5 * 1024 * 1024);
  const bucket = str(env, 'SORTIE_RECORDING_S3_BUCKET') ?? null;
  if (backend === 's3' && !bucket) {
    throw new ConfigError('SORTIE_RECORDING_S3_BUCKET', 'required when SORTIE_RECORDING_STORAGE_BACKEND is "s3"');
  }
  let prefix = str(env, 'SORTIE_RECORDING_S3_PREFIX') ?? 'recordings/';
  if (prefix.startsWith('/') || prefix.includes('..')) {
    throw new ConfigError('SORTIE_RECORDING_S3_PREFIX', `must not start with "/" or contain "..", got "${prefix}"`);
  }
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';

  const nodeEnv = str(env, 'NODE_ENV') ?? 'development';
  const production = isProduction(nodeEnv);
  const demo = bool(env, 'SORTIE_DEMO', false);
  if (demo && production) {
    throw new ConfigError('SORTIE_DEMO', `demo mode is refused when NODE_ENV is production (got "${nodeEnv}")`);
  }
  const jwtSecret = str(env, 'SORTIE_AUTH_JWT_SECRET') ?? null;
  const jwksUrl = url(env, 'SORTIE_AUTH_JWKS_URL', ['http:', 'https:']);
  if (jwtSecret && jwtSecret.length < 32) {
    throw new ConfigError('SORTIE_AUTH_JWT_SECRET', 'must be at least 32 characters long');
  }
  // Demo mode mints admin tokens for anyone who asks. Beside a real identity provider that would be a way in to a
  // real deployment, so the two never mix: a demo instance accepts only its own tokens (signed with its own key).
  if (demo && jwtSecret) {
    throw new ConfigError(
      'SORTIE_AUTH_JWT_SECRET',
      'must not be set with SORTIE_DEMO=true (demo mode accepts only its own demo tokens)',
    );
  }
  if (demo && jwksUrl) {
    throw new ConfigError(
      'SORTIE_AUTH_JWKS_URL',
      'must not be set with SORTIE_DEMO=true (demo mode accepts only its own demo tokens)',
    );
  }
  if (!demo && !jwtSecret && !jwksUrl) {
    throw new ConfigError(
      'SORTIE_AUTH_JWT_SECRET',
      'no authentication configured: set SORTIE_AUTH_JWT_SECRET or SORTIE_AUTH_JWKS_URL (or SORTIE_DEMO=true outside production)',
    );
  }
  const publicUrl = url(env, 'SORTIE_PUBLIC_URL', ['http:', 'https:']);
  const recordingEnabled = bool(env, 'SORTIE_VIDEO_RECORDING_ENABLED', false);
  // Without it the upload and download URLs are built from the request's Host header, which any client sets.
  // Fine on a laptop; in production the origin is pinned (see docs/admin.md, "Public URL").
  if (production && recordingEnabled && !publicUrl) {
    throw new ConfigError(
      'SORTIE_PUBLIC_URL',
      'required when NODE_ENV is production and recording is enabled (the origin browsers use, e.g. https://rec.example.com)',
    );
  }
  const corsOrigins = (str(env, 'SORTIE_CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of corsOrigins) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, '');
    } catch {
      ok = false;
    }
    if (!ok)
      throw new ConfigError(
        'SORTIE_CORS_ORIGINS',
        `expected comma-separated origins like https://app.example.com, got "${o}"`,
      );
  }

  return {
    recordingEnabled,
    storageBackend: backend,
    storagePath: str(env, 'SORTIE_RECORDING_STORAGE_PATH') ?? '/data/recordings',
    maxSizeMb,
    maxSizeBytes: maxSizeMb * 1048576,
    retentionDays: int(env, 'SORTIE_RECORDING_RETENTION_DAYS', 0, 0, 365 * 100),
    s3: {
      bucket,
      region: str(env, 'SORTIE_RECORDING_S3_REGION') ?? 'us-east-1',
      endpoint: url(env, 'SORTIE_RECORDING_S3_ENDPOINT', ['http:', 'https:']),
      prefix,
    },
    port: int(env, 'PORT', 3000, 0, 65535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: str(env, 'SORTIE_DATA_DIR') ?? './.sortie',
    publicUrl: publicUrl?.replace(/\/$/, '') ?? null,
    auth: { jwtSecret, jwksUrl },
    corsOrigins: corsOrigins.map((o) => o.replace(/\/$/, '')),
    demo,
    nodeEnv,
    production,
    abandonedAfterMinutes: int(env, 'SORTIE_RECORDING_ABANDONED_AFTER_MINUTES', 30, 1),
    perUser: {
      maxOpenRecordings: int(env, 'SORTIE_RECORDING_MAX_OPEN_PER_USER', 20, 1),
      maxReservedBytes: int(env, 'SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER', 2048, 1, 5 * 1024 * 1024 * 10) * 1048576,
      // 4 MiB: a marker is a label and a few fields, a few hundred bytes; this is thousands on each of 20 open
      // recordings. It bounds what one account adds while its recordings run; what ended recordings keep is
      // bounded per recording (the markers route's own cap) and by retention.
      maxMarkerBytes: int(env, 'SORTIE_RECORDING_MAX_MARKER_KB_PER_USER', 4096, 1, 1024 * 1024) * 1024,
    },
    uploads: {
      maxConcurrent: int(env, 'SORTIE_UPLOAD_MAX_CONCURRENT', 256, 1),
      maxConcurrentPerUser: int(env, 'SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER', 8, 1),
      idleTimeoutMs: int(env, 'SORTIE_UPLOAD_IDLE_TIMEOUT_SECONDS', 30, 1, 3600) * 1000,
      minBytesPerSecond: int(env, 'SORTIE_UPLOAD_MIN_BYTES_PER_SECOND', 1024, 0),
    },
    http: {
      // Node's own defaults (60 s for headers, 300 s for a whole request) let a few hundred slow clients hold
      // connections for minutes. Headers are a few KiB; the largest other body (2 MiB of JSON) takes 30 s at
      // about 560 kbit/s. At most 120 s: Node's request timeout (300 s), which still bounds part uploads, must
      // stay above the headers timeout.
      headersTimeoutMs: int(env, 'SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS', 10, 1, 120) * 1000,
      bodyTimeoutMs: int(env, 'SORTIE_HTTP_BODY_TIMEOUT_SECONDS', 30, 1, 600) * 1000,
    },
    minFreeBytes: int(env, 'SORTIE_RECORDING_MIN_FREE_MB', 128, 0) * 1048576,
    capture: {
      // 15 fps: a desktop changes by typing, scrolling and dragging; 15 fps keeps those readable at half the
      // encoder work and bytes of 30. 60 is the most a canvas capture is asked for.
      frameRate: int(env, 'SORTIE_RECORDING_FRAME_RATE', 15, 1, 60),
      // 1500 kbit/s: sharp text at 1080p for mostly still desktops (about 11 MB a minute at most). 100 kbit/s
      // and below turns text to mush; 50 Mbit/s is far past what a browser's encoder uses.
      videoBitsPerSecond: int(env, 'SORTIE_RECORDING_VIDEO_BITRATE_KBPS', 1500, 100, 50_000) * 1000,
    },
  };
}

/** Every variable loadConfig reads; the Helm parity test checks the chart against it. */
export const CONFIG_VARIABLES = [
  'SORTIE_VIDEO_RECORDING_ENABLED',
  'SORTIE_RECORDING_STORAGE_BACKEND',
  'SORTIE_RECORDING_STORAGE_PATH',
  'SORTIE_RECORDING_MAX_SIZE_MB',
  'SORTIE_RECORDING_RETENTION_DAYS',
  'SORTIE_RECORDING_S3_BUCKET',
  'SORTIE_RECORDING_S3_REGION',
  'SORTIE_RECORDING_S3_ENDPOINT',
  'SORTIE_RECORDING_S3_PREFIX',
  'SORTIE_RECORDING_ABANDONED_AFTER_MINUTES',
  'SORTIE_RECORDING_MAX_OPEN_PER_USER',
  'SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER',
  'SORTIE_RECORDING_MAX_MARKER_KB_PER_USER',
  'SORTIE_RECORDING_MIN_FREE_MB',
  'SORTIE_RECORDING_FRAME_RATE',
  'SORTIE_RECORDING_VIDEO_BITRATE_KBPS',
  'SORTIE_UPLOAD_MAX_CONCURRENT',
  'SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER',
  'SORTIE_UPLOAD_IDLE_TIMEOUT_SECONDS',
  'SORTIE_UPLOAD_MIN_BYTES_PER_SECOND',
  'SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS',
  'SORTIE_HTTP_BODY_TIMEOUT_SECONDS',
  'PORT',
  'HOST',
  'DATABASE_URL',
  'SORTIE_DATA_DIR',
  'SORTIE_PUBLIC_URL',
  'SORTIE_AUTH_JWT_SECRET',
  'SORTIE_AUTH_JWKS_URL',
  'SORTIE_CORS_ORIGINS',
  'SORTIE_DEMO',
  'NODE_ENV',
] as const;
