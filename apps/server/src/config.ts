/**
 * The only reader of process.env. Every variable is named once, in CONFIG_SCHEMA: its name, type,
 * default and a one-line description. loadConfig parses and validates them once, at start, and fails
 * with one sentence naming the variable; docs/configuration.md's table is generated from the schema
 * (`pnpm docs:config`, checked by config-table.test.ts).
 */
import { parsePrivateKey } from './seals/key-text.js';

export type StorageBackend = 'local' | 's3';

/** SSE-S3 (`AES256`) or SSE-KMS (`aws:kms`, with the bucket's default KMS key when `kmsKeyId` is null). */
export type S3ServerSideEncryption = { algorithm: 'AES256' } | { algorithm: 'aws:kms'; kmsKeyId: string | null };

export interface Config {
  recordingEnabled: boolean;
  storageBackend: StorageBackend;
  storagePath: string;
  /** maxSizeMb × 1 MiB. */
  maxSizeBytes: number;
  maxSizeMb: number;
  /** 0 keeps recordings forever. */
  retentionDays: number;
  s3: {
    bucket: string | null;
    region: string;
    endpoint: string | null;
    prefix: string;
    /** Server-side encryption asked of the bucket for every object written, or null for the bucket's default. */
    sse: S3ServerSideEncryption | null;
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
  /** SORTIE_SEAL_PRIVATE_KEY as given (checked here), or null for a key the service generates. */
  sealPrivateKey: string | null;
  corsOrigins: string[];
  demo: boolean;
  nodeEnv: string;
  /** NODE_ENV is production, prod (any case): demo mode refused, a public URL required with recording. */
  production: boolean;
  /** Minutes without a new part after which a recording counts as abandoned. */
  abandonedAfterMinutes: number;
  /** Per-user caps, so one account cannot fill the disk or the table. */
  perUser: {
    /** Recordings in `recording`/`uploading` at once. */
    maxOpenRecordings: number;
    /**
     * Bytes their parts reserve or store, and their thumbnails (also those of recordings ended under a
     * minute ago).
     */
    maxReservedBytes: number;
    /** Bytes of their markers (label and data as JSON). */
    maxMarkerBytes: number;
  };
  /** Limits on part bodies received through the service (local backend). */
  uploads: {
    /** Part bodies being received at once, in all. */
    maxConcurrent: number;
    /** Part bodies one user sends at once. */
    maxConcurrentPerUser: number;
    /** The longest wait for the next byte of a body, in ms. */
    idleTimeoutMs: number;
    /** The slowest average rate a body may keep after its first idle timeout. */
    minBytesPerSecond: number;
  };
  /** Time limits of every HTTP request but part bodies (which have uploads' watchdog instead). */
  http: {
    /** The longest a client may take to send a request's headers, in ms. */
    headersTimeoutMs: number;
    /** The longest the body of a request other than a part may take, in ms. */
    bodyTimeoutMs: number;
  };
  /** Below this much free disk the local backend is not ready and refuses parts. */
  minFreeBytes: number;
  /** What the SDK captures with unless the page says otherwise (GET /api/recordings/config hands these out). */
  capture: {
    /** Frames per second. */
    frameRate: number;
    /** The encoder's target, bits per second. */
    videoBitsPerSecond: number;
  };
}

/** How one variable is read and documented. `description` is one line of Markdown for docs/configuration.md. */
export type VariableSpec = { name: string; description: string } & (
  | { type: 'bool'; default: boolean }
  | { type: 'int'; default: number; min: number; max?: number }
  | { type: 'string'; default: string | null; defaultText?: string }
  | { type: 'enum'; values: readonly string[]; default: string }
  | { type: 'enum'; values: readonly string[]; default: null; defaultText: string }
  | { type: 'url'; protocols: readonly string[]; default: null; defaultText?: string }
  | { type: 'origins'; default: null; defaultText: string }
);

/**
 * Every variable the service reads, in the order of docs/configuration.md's table. The nine of the
 * shared admin guide's table come first, with its names, types and defaults.
 */
export const CONFIG_SCHEMA = {
  recordingEnabled: {
    name: 'SORTIE_VIDEO_RECORDING_ENABLED',
    type: 'bool',
    default: false,
    description: 'Recording routes exist only when true; otherwise they answer 404 and the pages hide recording.',
  },
  storageBackend: {
    name: 'SORTIE_RECORDING_STORAGE_BACKEND',
    type: 'enum',
    values: ['local', 's3'],
    default: 'local',
    description: 'Where recordings are stored: a folder (`local`) or an S3-compatible bucket (`s3`).',
  },
  storagePath: {
    name: 'SORTIE_RECORDING_STORAGE_PATH',
    type: 'string',
    default: '/data/recordings',
    description: 'Folder of the local backend.',
  },
  maxSizeMb: {
    name: 'SORTIE_RECORDING_MAX_SIZE_MB',
    type: 'int',
    default: 500,
    min: 1,
    max: 5 * 1024 * 1024,
    description: 'Limit per recording in MiB; the request that would pass it gets 413.',
  },
  retentionDays: {
    name: 'SORTIE_RECORDING_RETENTION_DAYS',
    type: 'int',
    default: 0,
    min: 0,
    max: 365 * 100,
    description: 'Delete `ready` recordings older than this many days, hourly; 0 keeps them forever.',
  },
  s3Bucket: {
    name: 'SORTIE_RECORDING_S3_BUCKET',
    type: 'string',
    default: null,
    description: 'S3 bucket name; required with the `s3` backend.',
  },
  s3Region: {
    name: 'SORTIE_RECORDING_S3_REGION',
    type: 'string',
    default: 'us-east-1',
    description: 'AWS region of the bucket.',
  },
  s3Endpoint: {
    name: 'SORTIE_RECORDING_S3_ENDPOINT',
    type: 'url',
    protocols: ['http:', 'https:'],
    default: null,
    defaultText: '— (AWS)',
    description: 'For MinIO and other S3-compatible stores (path-style).',
  },
  s3Prefix: {
    name: 'SORTIE_RECORDING_S3_PREFIX',
    type: 'string',
    default: 'recordings/',
    description: 'Key prefix in the bucket; must not start with `/` or contain `..`; a missing trailing `/` is added.',
  },
  s3Sse: {
    name: 'SORTIE_RECORDING_S3_SSE',
    type: 'enum',
    values: ['AES256', 'aws:kms'],
    default: null,
    defaultText: "— (the bucket's default encryption)",
    description:
      'Server-side encryption asked for every object the service and the browsers write: SSE-S3 (`AES256`) or SSE-KMS (`aws:kms`); only with the `s3` backend. See docs/s3.md.',
  },
  s3SseKmsKeyId: {
    name: 'SORTIE_RECORDING_S3_SSE_KMS_KEY_ID',
    type: 'string',
    default: null,
    defaultText: "— (the account's `aws/s3` key)",
    description: 'KMS key (id, ARN or alias ARN) for `aws:kms`; only with `SORTIE_RECORDING_S3_SSE=aws:kms`.',
  },
  frameRate: {
    name: 'SORTIE_RECORDING_FRAME_RATE',
    type: 'int',
    // 15 fps: a desktop changes by typing, scrolling and dragging; 15 fps keeps those readable at half the
    // encoder work and bytes of 30. 60 is the most a canvas capture is asked for.
    default: 15,
    min: 1,
    max: 60,
    description:
      'Frames per second the SDK captures unless the page sets `frameRate`; handed out by `GET /api/recordings/config`.',
  },
  videoBitrateKbps: {
    name: 'SORTIE_RECORDING_VIDEO_BITRATE_KBPS',
    type: 'int',
    // 1500 kbit/s: sharp text at 1080p for mostly still desktops (about 11 MB a minute at most). 100 kbit/s
    // and below turns text to mush; 50 Mbit/s is far past what a browser's encoder uses.
    default: 1500,
    min: 100,
    max: 50_000,
    description:
      "The encoder's bitrate in kbit/s unless the page sets `videoBitsPerSecond`; handed out the same way (in bits/s).",
  },
  abandonedAfterMinutes: {
    name: 'SORTIE_RECORDING_ABANDONED_AFTER_MINUTES',
    type: 'int',
    default: 30,
    min: 1,
    description:
      'A `recording`/`uploading` recording with no activity (no part requested or received, no stop) for this long is finalized from the parts it holds (or failed if none).',
  },
  maxOpenPerUser: {
    name: 'SORTIE_RECORDING_MAX_OPEN_PER_USER',
    type: 'int',
    default: 20,
    min: 1,
    description: 'Recordings one user may have open (`recording`/`uploading`) at once; one more is refused with 429.',
  },
  maxReservedMbPerUser: {
    name: 'SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER',
    type: 'int',
    default: 2048,
    min: 1,
    max: 5 * 1024 * 1024 * 10,
    description:
      "MiB one user's open recordings may reserve or hold in all (parts, tails, thumbnails); a part or thumbnail past it gets 413.",
  },
  maxMarkerKbPerUser: {
    name: 'SORTIE_RECORDING_MAX_MARKER_KB_PER_USER',
    type: 'int',
    // 4 MiB: a marker is a label and a few fields, a few hundred bytes; this is thousands on each of 20 open
    // recordings. It bounds what one account adds while its recordings run; what ended recordings keep is
    // bounded per recording (the markers route's own cap) and by retention.
    default: 4096,
    min: 1,
    max: 1024 * 1024,
    description:
      "KiB of markers one user's open recordings may hold in all (each marker's label and `data` as JSON text); a marker batch past it gets 413.",
  },
  minFreeMb: {
    name: 'SORTIE_RECORDING_MIN_FREE_MB',
    type: 'int',
    default: 128,
    min: 0,
    description: 'Local backend: below this much free disk `/readyz` answers 503 and parts are refused with 507.',
  },
  uploadMaxConcurrent: {
    name: 'SORTIE_UPLOAD_MAX_CONCURRENT',
    type: 'int',
    default: 256,
    min: 1,
    description: 'Local backend: part bodies received at once per replica; past it 503 with `Retry-After`.',
  },
  uploadMaxConcurrentPerUser: {
    name: 'SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER',
    type: 'int',
    default: 8,
    min: 1,
    description: 'Local backend: part bodies one user sends at once; past it 429 with `Retry-After`.',
  },
  uploadIdleTimeoutSeconds: {
    name: 'SORTIE_UPLOAD_IDLE_TIMEOUT_SECONDS',
    type: 'int',
    default: 30,
    min: 1,
    max: 3600,
    description: 'Local backend: a part body that sends nothing for this long is ended (408).',
  },
  uploadMinBytesPerSecond: {
    name: 'SORTIE_UPLOAD_MIN_BYTES_PER_SECOND',
    type: 'int',
    default: 1024,
    min: 0,
    description:
      'Local backend: after its first idle timeout, a part body must average at least this rate (408 otherwise; 0 checks only the idle time).',
  },
  // Node's own defaults (60 s for headers, 300 s for a whole request) let a few hundred slow clients hold
  // connections for minutes. Headers are a few KiB; the largest other body (2 MiB of JSON) takes 30 s at
  // about 560 kbit/s. At most 120 s: Node's request timeout (300 s), which still bounds part uploads, must
  // stay above the headers timeout.
  httpHeadersTimeoutSeconds: {
    name: 'SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS',
    type: 'int',
    default: 10,
    min: 1,
    max: 120,
    description: 'Every request: its headers must arrive within this time (408 and the connection closed otherwise).',
  },
  httpBodyTimeoutSeconds: {
    name: 'SORTIE_HTTP_BODY_TIMEOUT_SECONDS',
    type: 'int',
    default: 30,
    min: 1,
    max: 600,
    description:
      'Every request but a part upload: its body must arrive within this time of its headers (408 and the connection closed otherwise).',
  },
  port: {
    name: 'PORT',
    type: 'int',
    default: 3000,
    min: 0,
    max: 65535,
    description: 'Port the service listens on.',
  },
  host: {
    name: 'HOST',
    type: 'string',
    default: '0.0.0.0',
    description: 'Address the service listens on.',
  },
  databaseUrl: {
    name: 'DATABASE_URL',
    type: 'url',
    protocols: ['postgres:', 'postgresql:'],
    default: null,
    defaultText: '— (embedded)',
    description:
      'PostgreSQL to use; unset, the service starts its own PostgreSQL server in `SORTIE_DATA_DIR` (see "The embedded database").',
  },
  dataDir: {
    name: 'SORTIE_DATA_DIR',
    type: 'string',
    default: './.sortie',
    description: 'Where the embedded database lives.',
  },
  publicUrl: {
    name: 'SORTIE_PUBLIC_URL',
    type: 'url',
    protocols: ['http:', 'https:'],
    default: null,
    defaultText: 'from the request',
    description:
      'Origin browsers use to reach the service (its upload and download URLs); **required when `NODE_ENV` is production and recording is enabled**.',
  },
  jwtSecret: {
    name: 'SORTIE_AUTH_JWT_SECRET',
    type: 'string',
    default: null,
    description: 'HS256 secret (at least 32 characters) of the tokens Sortie issues.',
  },
  jwksUrl: {
    name: 'SORTIE_AUTH_JWKS_URL',
    type: 'url',
    protocols: ['http:', 'https:'],
    default: null,
    description: 'JWKS endpoint for RS256/ES256 tokens (instead of or beside the secret; see "Tokens").',
  },
  sealPrivateKey: {
    name: 'SORTIE_SEAL_PRIVATE_KEY',
    type: 'string',
    default: null,
    defaultText: 'generated once, kept in the database',
    description:
      'Ed25519 private key (PKCS8 PEM or a JWK with `d`) that signs recordings\' seals; every key that ever signed stays published at `GET /api/seal-keys` (see "Seals" in docs/operations.md).',
  },
  corsOrigins: {
    name: 'SORTIE_CORS_ORIGINS',
    type: 'origins',
    default: null,
    defaultText: 'none (same origin only)',
    description: 'Comma-separated origins (no path) whose pages may call the API and PUT local parts.',
  },
  demo: {
    name: 'SORTIE_DEMO',
    type: 'bool',
    default: false,
    description:
      'Demo users and tokens minted by the service; refused in production and beside `SORTIE_AUTH_JWT_SECRET` or `SORTIE_AUTH_JWKS_URL`.',
  },
  nodeEnv: {
    name: 'NODE_ENV',
    type: 'string',
    default: 'development',
    description:
      '`production` or `prod`, in any case, refuses demo mode and requires `SORTIE_PUBLIC_URL` when recording is enabled.',
  },
} as const satisfies Record<string, VariableSpec>;

const S = CONFIG_SCHEMA;

/** Every variable loadConfig reads; the Helm parity test checks the chart against it. */
export const CONFIG_VARIABLES: readonly string[] = Object.values(CONFIG_SCHEMA).map((v) => v.name);

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
type Spec<T extends VariableSpec['type']> = Extract<VariableSpec, { type: T }>;

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function str<D extends string | null>(env: Env, spec: { name: string; default: D }): string | D {
  return raw(env, spec.name) ?? spec.default;
}

function bool(env: Env, spec: Spec<'bool'>): boolean {
  const v = raw(env, spec.name);
  if (v === undefined) return spec.default;
  const l = v.toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  throw new ConfigError(spec.name, `expected true, false, 1 or 0, got "${v}"`);
}

function int(env: Env, spec: Spec<'int'>): number {
  const { name, min, max = Number.MAX_SAFE_INTEGER } = spec;
  const v = raw(env, name);
  if (v === undefined) return spec.default;
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `expected a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${n}`);
  return n;
}

function url(env: Env, spec: Spec<'url'>): string | null {
  const { name, protocols } = spec;
  const v = raw(env, name);
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

function oneOf<T extends string, D extends T | null>(
  env: Env,
  spec: Spec<'enum'> & { values: readonly T[]; default: D },
): T | D {
  const v: string | D = raw(env, spec.name) ?? spec.default;
  if (v !== null && !(spec.values as readonly string[]).includes(v)) {
    throw new ConfigError(spec.name, `expected ${spec.values.map((x) => `"${x}"`).join(' or ')}, got "${v}"`);
  }
  return v as T | D;
}

/**
 * The S3 SSE settings. A KMS key id means nothing without `aws:kms`, and the local backend encrypts nothing:
 * both are refused rather than ignored, so that no one believes recordings encrypted that are not.
 */
function s3Sse(env: Env, backend: StorageBackend): S3ServerSideEncryption | null {
  const algorithm = oneOf<'AES256' | 'aws:kms', null>(env, S.s3Sse);
  if (algorithm !== null && backend !== 's3') {
    throw new ConfigError(
      S.s3Sse.name,
      `only with ${S.storageBackend.name}=s3 (the local backend does not encrypt recordings at rest)`,
    );
  }
  const kmsKeyId = str(env, S.s3SseKmsKeyId);
  if (kmsKeyId !== null && algorithm !== 'aws:kms') {
    throw new ConfigError(
      S.s3SseKmsKeyId.name,
      `only with ${S.s3Sse.name}=aws:kms (got ${algorithm === null ? 'no' : `"${algorithm}"`} ${S.s3Sse.name})`,
    );
  }
  if (algorithm === null) return null;
  return algorithm === 'aws:kms' ? { algorithm, kmsKeyId } : { algorithm };
}

function origins(env: Env, spec: Spec<'origins'>): string[] {
  const list = (raw(env, spec.name) ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of list) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, '');
    } catch {
      ok = false;
    }
    if (!ok)
      throw new ConfigError(spec.name, `expected comma-separated origins like https://app.example.com, got "${o}"`);
  }
  return list;
}

/** NODE_ENV=production in any spelling an operator might use: production, Production, PRODUCTION, prod. */
export function isProduction(nodeEnv: string): boolean {
  return /^(production|prod)$/i.test(nodeEnv.trim());
}

export function loadConfig(env: Env = process.env): Config {
  const backend = oneOf<StorageBackend, StorageBackend>(env, S.storageBackend);
  const maxSizeMb = int(env, S.maxSizeMb);
  const bucket = str(env, S.s3Bucket);
  if (backend === 's3' && !bucket) {
    throw new ConfigError(S.s3Bucket.name, `required when ${S.storageBackend.name} is "s3"`);
  }
  let prefix = str(env, S.s3Prefix);
  if (prefix.startsWith('/') || prefix.includes('..')) {
    throw new ConfigError(S.s3Prefix.name, `must not start with "/" or contain "..", got "${prefix}"`);
  }
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  const sse = s3Sse(env, backend);

  const nodeEnv = str(env, S.nodeEnv);
  const production = isProduction(nodeEnv);
  const demo = bool(env, S.demo);
  if (demo && production) {
    throw new ConfigError(S.demo.name, `demo mode is refused when ${S.nodeEnv.name} is production (got "${nodeEnv}")`);
  }
  const jwtSecret = str(env, S.jwtSecret);
  const jwksUrl = url(env, S.jwksUrl);
  if (jwtSecret && jwtSecret.length < 32) {
    throw new ConfigError(S.jwtSecret.name, 'must be at least 32 characters long');
  }
  // Demo mode mints admin tokens for anyone who asks. Beside a real identity provider that would be a way in to a
  // real deployment, so the two never mix: a demo instance accepts only its own tokens (signed with its own key).
  const demoOnly = `must not be set with ${S.demo.name}=true (demo mode accepts only its own demo tokens)`;
  if (demo && jwtSecret) throw new ConfigError(S.jwtSecret.name, demoOnly);
  if (demo && jwksUrl) throw new ConfigError(S.jwksUrl.name, demoOnly);
  if (!demo && !jwtSecret && !jwksUrl) {
    throw new ConfigError(
      S.jwtSecret.name,
      `no authentication configured: set ${S.jwtSecret.name} or ${S.jwksUrl.name} (or ${S.demo.name}=true outside production)`,
    );
  }
  const publicUrl = url(env, S.publicUrl);
  const recordingEnabled = bool(env, S.recordingEnabled);
  // Without it the upload and download URLs are built from the request's Host header, which any client sets.
  // Fine on a laptop; in production the origin is pinned (see docs/operations.md, "Public URL").
  if (production && recordingEnabled && !publicUrl) {
    throw new ConfigError(
      S.publicUrl.name,
      `required when ${S.nodeEnv.name} is production and recording is enabled (the origin browsers use, e.g. https://rec.example.com)`,
    );
  }
  const corsOrigins = origins(env, S.corsOrigins);
  const sealPrivateKey = str(env, S.sealPrivateKey);
  if (sealPrivateKey) {
    try {
      parsePrivateKey(sealPrivateKey);
    } catch (err) {
      throw new ConfigError(S.sealPrivateKey.name, (err as Error).message);
    }
  }

  return {
    recordingEnabled,
    storageBackend: backend,
    storagePath: str(env, S.storagePath),
    maxSizeMb,
    maxSizeBytes: maxSizeMb * 1048576,
    retentionDays: int(env, S.retentionDays),
    s3: {
      bucket,
      region: str(env, S.s3Region),
      endpoint: url(env, S.s3Endpoint),
      prefix,
      sse,
    },
    port: int(env, S.port),
    host: str(env, S.host),
    databaseUrl: url(env, S.databaseUrl),
    dataDir: str(env, S.dataDir),
    publicUrl: publicUrl?.replace(/\/$/, '') ?? null,
    auth: { jwtSecret, jwksUrl },
    sealPrivateKey,
    corsOrigins: corsOrigins.map((o) => o.replace(/\/$/, '')),
    demo,
    nodeEnv,
    production,
    abandonedAfterMinutes: int(env, S.abandonedAfterMinutes),
    perUser: {
      maxOpenRecordings: int(env, S.maxOpenPerUser),
      maxReservedBytes: int(env, S.maxReservedMbPerUser) * 1048576,
      maxMarkerBytes: int(env, S.maxMarkerKbPerUser) * 1024,
    },
    uploads: {
      maxConcurrent: int(env, S.uploadMaxConcurrent),
      maxConcurrentPerUser: int(env, S.uploadMaxConcurrentPerUser),
      idleTimeoutMs: int(env, S.uploadIdleTimeoutSeconds) * 1000,
      minBytesPerSecond: int(env, S.uploadMinBytesPerSecond),
    },
    http: {
      headersTimeoutMs: int(env, S.httpHeadersTimeoutSeconds) * 1000,
      bodyTimeoutMs: int(env, S.httpBodyTimeoutSeconds) * 1000,
    },
    minFreeBytes: int(env, S.minFreeMb) * 1048576,
    capture: {
      frameRate: int(env, S.frameRate),
      videoBitsPerSecond: int(env, S.videoBitrateKbps) * 1000,
    },
  };
}
