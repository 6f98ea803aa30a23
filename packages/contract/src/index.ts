/**
 * @sortie/contract — the types of the wire contract, docs/API.md. Types only:
 * no runtime code, so it is always imported with `import type` and costs
 * nothing in a bundle.
 *
 * The SDK (@sortie/recorder) takes its wire types from here, and its build
 * inlines them into its own .d.ts, so the published package does not depend
 * on this private one. The service checks its answers against them
 * (`c.json({ ... } satisfies RecordingConfig)`, `toResource(): Recording`).
 * Change the contract here and in docs/API.md together.
 */

// --- docs/API.md "3. Errors" ---

/** `error.code` of every error answer, with its HTTP status in docs/API.md "3. Errors". */
export type ErrorCode =
  | 'invalid_request' // 400
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'payload_too_large' // 413
  | 'request_timeout' // 408: a part's body stalled; send it again
  | 'too_many_requests' // 429: too many uploads at once; send it again after Retry-After
  | 'insufficient_storage' // 507: the service's disk is full; send it again after Retry-After
  | 'service_unavailable' // 503
  | 'internal'; // 500

/** The body of every error answer: `{"error": {"code", "message"}}`. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    /** A human sentence: no stack, no SQL, no paths. */
    message: string;
  };
}

// --- docs/API.md "4. The recording resource" ---

export type RecordingStatus = 'recording' | 'uploading' | 'ready' | 'failed';

/** The recording resource. Dates are ISO 8601 strings (UTC). */
export interface Recording {
  id: string;
  sessionId: string;
  userId: string;
  userName: string | null;
  status: RecordingStatus;
  mimeType: string;
  /** Bytes stored so far (the joined file once `ready`). */
  sizeBytes: number;
  /** Null until known. */
  durationMs: number | null;
  createdAt: string;
  updatedAt: string;
  /** Null until `ready`. */
  completedAt: string | null;
  failureReason: string | null;
  /**
   * How it ended: `stop` (the client completed it), `beacon` (its tab went
   * away and the service finalized what was stored), `abandoned` (the sweeper,
   * after SORTIE_RECORDING_ABANDONED_AFTER_MINUTES without activity),
   * `size_limit` (extension: the client completed it because it reached the
   * size limit), `failed`; null while it is open.
   */
  endedBy: EndedBy | null;
  /**
   * (extension) Offset in ms of its first thumbnail, the poster shown in the lists
   * (`GET /api/recordings/:id/thumbnails/:offsetMs`); null when it has none.
   */
  posterOffsetMs: number | null;
  /**
   * (extension) The legal hold, while one is placed (`PUT /api/admin/recordings/:id/hold`): no delete (the
   * owner's, an admin's, a bulk delete, retention) removes the recording. Null when it is not held.
   */
  hold: RecordingHold | null;
}

/** A legal hold on a recording: why, since when (ISO 8601), and which admin (user id) placed it. */
export interface RecordingHold {
  reason: string;
  heldAt: string;
  heldBy: string;
}

export type EndedBy = 'stop' | 'beacon' | 'abandoned' | 'size_limit' | 'failed';

/**
 * The answer to `POST /api/recordings`: the recording, and the URL that ends
 * it without a bearer token (for `navigator.sendBeacon` when the page goes away).
 */
export interface CreatedRecording extends Recording {
  /** POST here (any body, no headers needed) to end the recording; valid for 7 days. */
  endUrl: string;
  /** (extension) Present on a backend that receives parts itself (`local`): each part in one request. */
  partsUrl?: PartsUrl;
}

/**
 * (extension; `local` backend) The recording's parts URL: `PUT ${url}/${partNumber}`
 * with these headers and the part's bytes stores the part in one request, its
 * size being the request's Content-Length (required). The PUT makes the
 * reservation POST /parts would make (same checks, same limits, same errors,
 * before a byte is read) and answers as a part URL does (200 and the ETag).
 * It expires like a part URL; every POST /parts answer carries a fresh one.
 */
export interface PartsUrl {
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expiresAt: string;
}

// --- docs/API.md "5. Routes" ---

/** A page of a newest-first list; pass `nextCursor` as `cursor` for the next one (null: the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** GET /api/recordings/config */
export interface RecordingConfig {
  /** Always true in an answer: with recording disabled the route answers 404. */
  enabled: boolean;
  autoRecord: boolean;
  maxSizeBytes: number;
  backend: 'local' | 's3';
  /** Smallest size of every part but the last (0 on `local`). */
  minPartSizeBytes: number;
  maxParts: number;
  /** (extension) Frames per second the SDK captures unless the page sets `frameRate` (SORTIE_RECORDING_FRAME_RATE). */
  frameRate?: number;
  /** (extension) The encoder's bitrate unless the page sets `videoBitsPerSecond` (SORTIE_RECORDING_VIDEO_BITRATE_KBPS × 1000). */
  videoBitsPerSecond?: number;
  /**
   * (extension) true: at `complete` the service writes the Duration (`durationMs`) into a WebM file whose
   * head has none (S3, docs/bounded-loss.md), so the SDK does not send part 1 again for it.
   */
  writesDuration?: boolean;
}

/** POST /api/recordings body. */
export interface CreateRecordingBody {
  sessionId: string;
  /** A `video/webm` or `video/mp4` type, codecs optional. */
  mimeType: string;
}

/** Query of GET /api/recordings. */
export interface ListQuery {
  sessionId?: string;
  status?: RecordingStatus;
  /** (extension) createdAt ≥ from: ISO 8601 with seconds and a zone, e.g. `2026-01-31T09:00:00Z`. */
  from?: string;
  /** (extension) createdAt < to (exclusive); from must not be after to. */
  to?: string;
  /**
   * (extension) How `from`/`to` match: `created` (default) bounds the start; `overlap` finds the recordings going
   * on at some moment of [from, to): started before `to`, and ended at or after `from` or still open.
   */
  range?: 'created' | 'overlap';
  /** (extension) Default `created`. A recording with no duration yet sorts as -1. */
  sort?: ListSort;
  /** (extension) Default `desc`. A cursor only pages the sort and order it came from. */
  order?: 'asc' | 'desc';
  /** 1–200, default 50. */
  limit?: number;
  cursor?: string;
  /** (extension) `true`: the answer also has `count` and `countIsLowerBound`. */
  count?: boolean | 'true' | 'false';
}

/** (extension) What a list can be sorted by: createdAt, durationMs, sizeBytes. */
export type ListSort = 'created' | 'duration' | 'size';

/** (extension) A page of recordings; `count` only with `count=true`. */
export interface RecordingPage extends Page<Recording> {
  /** How many recordings match the filters (not the cursor), at most 1000. */
  count?: number;
  /** More than `count` match: show it as "1000+". */
  countIsLowerBound?: boolean;
  /** The service's clock when it read the page: a poll passes it (less a margin) as `updatedSince`. */
  asOf?: string;
}

/** POST /api/recordings/:id/parts body. */
export interface PartRequest {
  partNumber: number;
  sizeBytes: number;
}

/** POST /api/recordings/:id/parts answer: where to PUT that part's bytes. */
export interface PartTarget {
  partNumber: number;
  url: string;
  method: 'PUT';
  /** Send exactly these headers with the PUT. */
  headers: Record<string, string>;
  expiresAt: string;
  /** (extension) A fresh parts URL (`local` backend): see PartsUrl. */
  partsUrl?: PartsUrl;
}

/** POST /api/recordings/:id/tails body (extension; S3 only, docs/bounded-loss.md). */
export interface TailRequest {
  /** The part the tails precede: the next part not yet closed. */
  partNumber: number;
  /** The first tail sequence number wanted (0 for a part's first tail). */
  firstSeq: number;
  /** How often the SDK sends a tail, in ms (1000-60000, default 2000): sets how long the targets last. */
  maxLagMs?: number;
}

/** One tail's presigned POST: `url` as multipart/form-data, `fields` in this order, then the tail as `file`. */
export interface TailTarget {
  partNumber: number;
  seq: number;
  url: string;
  fields: Record<string, string>;
}

/** POST /api/recordings/:id/tails answer: presigned POSTs, one per tail. */
export interface TailTargets {
  urls: TailTarget[];
  method: 'POST';
  /** The largest tail each target takes, in bytes: the store itself refuses a larger one. */
  maxBytes: number;
  expiresAt: string;
}

/** One entry of the complete body: a part and the ETag its PUT answered. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** POST /api/recordings/:id/complete body. */
export interface CompleteBody {
  durationMs?: number | null;
  parts: CompletedPart[];
  /**
   * (extension) Why the client completes it: `size_limit` when it reached the size limit. Default `stop`. On S3
   * a `size_limit` complete also takes the tails after the parts listed (a last part refused with 413).
   */
  endedBy?: 'stop' | 'size_limit';
}

/** POST /api/recordings/:id/fail body. */
export interface FailBody {
  reason: string;
}

/** POST /api/recordings/:id/download-url answer: a short-lived URL that needs no header. */
export interface DownloadUrl {
  url: string;
  expiresAt: string;
}

// --- docs/API.md "Markers and thumbnails" (extension) ---

/** Who put a marker: the host page (`recorder.mark`) or the SDK itself (started, stopped, …). */
export type MarkerSource = 'app' | 'sdk';

/** One marker as sent in `POST /api/recordings/:id/markers`. */
export interface MarkerInput {
  /** Milliseconds from the start of the recording. */
  offsetMs: number;
  /** 1 to 200 characters. */
  label: string;
  /** Default `app`. */
  source?: MarkerSource;
  /** Any JSON of at most 2 KiB. */
  data?: unknown;
}

/** Body of `POST /api/recordings/:id/markers`: 1 to 100 markers. */
export interface MarkersBody {
  markers: MarkerInput[];
}

/** A stored marker (`GET /api/recordings/:id/markers`, in offset order). */
export interface Marker {
  id: string;
  offsetMs: number;
  label: string;
  source: MarkerSource;
  data: unknown;
  createdAt: string;
}

/** `GET /api/recordings/:id/thumbnails`: every thumbnail in offset order, with a URL an `<img>` can load. */
export interface ThumbnailIndex {
  items: { offsetMs: number; url: string }[];
  /** When the URLs stop working (ask again). */
  expiresAt: string;
}

// --- docs/API.md "Admin routes" ---

/** Query of GET /api/admin/recordings. */
export interface AdminListQuery extends ListQuery {
  userId?: string;
  /** (extension) A case-insensitive prefix of the user's id or name. */
  user?: string;
  /** (extension) A case-insensitive prefix of the session id. */
  session?: string;
  /** (extension) Only recordings whose row changed at or after this instant (ISO 8601 with a zone): a live list's poll. */
  updatedSince?: string;
  /** (extension) Only recordings with a marker whose label contains this text (case-insensitive). */
  marker?: string;
  /** (extension) `true`: only recordings on legal hold; `false`: only those not held. */
  held?: boolean;
}

/** (extension) POST /api/admin/recordings/delete body: 1–200 distinct recording ids. */
export interface BulkDeleteBody {
  ids: string[];
}

/**
 * (extension) PUT /api/admin/recordings/:id/hold body: place a legal hold (`reason` 1–500 characters, required)
 * or release it (`reason` optional, audited when given).
 */
export type HoldBody = { hold: true; reason: string } | { hold: false; reason?: string };

/** (extension) POST /api/admin/recordings/delete answer: one result per id, in the order given. */
export interface BulkDeleteResult {
  /** How many of the ids were deleted by this request. */
  deleted: number;
  results: {
    id: string;
    /** `not_found`: no such recording (maybe deleted already); `failed`: storage refused, the recording is kept. */
    status: 'deleted' | 'not_found' | 'failed';
    message?: string;
  }[];
}

/** (extension) GET /api/admin/overview?days=N answer: the figures of the overview charts, per UTC day. */
export interface AdminOverview {
  /** The window: the last `days` UTC days, today included; `from` is the first day's midnight, `to` now. */
  days: number;
  from: string;
  to: string;
  /**
   * Storage held by the recordings kept today, by the UTC day they were made: `bytes` made that day, and
   * `cumulativeBytes` held at that day's end by what is still kept (deleted recordings leave no history).
   */
  storage: { totalBytes: number; byDay: { day: string; bytes: number; cumulativeBytes: number }[] };
  /** Recordings made each day of the window by status now (every day of the window, zeros included). */
  byDay: ({ day: string } & Record<RecordingStatus, number>)[];
  /** How the recordings made in the window ended; `failureRate` is failed / ended (0 when none ended). */
  endings: {
    ended: number;
    failed: number;
    failureRate: number;
    byEndedBy: Record<EndedBy, number>;
    /** The most common failure reasons in the window, at most 5. */
    topReasons: { reason: string; count: number }[];
  };
  /** The users holding the most bytes, at most 10. */
  largestUsers: { userId: string; userName: string | null; recordings: number; bytes: number }[];
}

/** GET and PUT /api/admin/settings answer. */
export interface AdminSettings {
  autoRecord: boolean;
  updatedAt: string | null;
  /** The user id (token `sub`) of the admin who last changed them. */
  updatedBy: string | null;
  /** SORTIE_RECORDING_RETENTION_DAYS, read-only here (0 keeps recordings forever). */
  retentionDays: number;
}

/** PUT /api/admin/settings body: exactly this field. */
export interface AdminSettingsUpdate {
  autoRecord: boolean;
}

/** POST /api/admin/retention/run answer. */
export interface RetentionResult {
  deleted: number;
  /** Present (true) when another replica was running retention at that moment and does the work. */
  skipped?: boolean;
}

/** Every action the audit trail records (docs/API.md "Audit trail"). */
export type AuditAction =
  | 'recording.delete'
  | 'recording.download'
  | 'recording.download_url'
  | 'recording.thumbnails'
  | 'settings.update'
  | 'retention.delete'
  | 'sweeper.finalize'
  | 'sweeper.fail'
  | 'recording.hold'
  | 'recording.release'
  // An auditor's reads (docs/API.md "Roles"): a recording's metadata, seal and markers, the list of every
  // recording, and the audit trail itself.
  | 'recording.view'
  | 'recording.seal'
  | 'recording.markers'
  | 'recording.list'
  | 'audit.list'
  | 'audit.verify'
  | 'audit.export';

/** One entry of GET /api/admin/audit. */
export interface AuditEntry {
  id: string;
  at: string;
  /** Null for what the service does on its own (the jobs). */
  actorId: string | null;
  actorName: string | null;
  action: AuditAction;
  recordingId: string | null;
  details: Record<string, unknown>;
}

/** Query of GET /api/admin/audit. */
export interface AuditQuery {
  action?: AuditAction;
  recordingId?: string;
  actorId?: string;
  /** 1–200, default 50. */
  limit?: number;
  cursor?: string;
}

// --- docs/API.md "Health and metrics" ---

/** GET /readyz answer (200 when every check is `ok`, else 503). */
/**
 * GET /api/admin/audit/verify: the audit trail's hash chain walked from its first entry. `entries` chained
 * entries held; `unchained` entries written before the chain existed; on a break, the first entry that does
 * not hold and why.
 */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  unchained: number;
  firstBadId?: string;
  problem?: string;
}

/** One line of GET /api/admin/audit/export (JSON Lines): an entry with its place in the chain. */
export interface ChainedAuditEntry {
  seq: number;
  id: string;
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: AuditAction;
  recordingId: string | null;
  details: Record<string, unknown>;
  /** The previous entry's hash (null for the chain's first). */
  prevHash: string | null;
  /** SHA-256 (hex) of the RFC 8785 form of every field above. */
  hash: string;
}

/**
 * GET /api/recordings/:id/seal: what a ready recording's file is (its SHA-256 and size, as downloaded) and
 * what the service knew of it, signed with Ed25519 over the UTF-8 bytes of the seal without `signature` in
 * RFC 8785 (JCS) form. Check it offline with `@sortie/verify` (`pnpm sortie-verify`).
 */
export interface Seal {
  recordingId: string;
  /** Of the file exactly as downloaded, lowercase hex. */
  sha256: string;
  sizeBytes: number;
  durationMs: number | null;
  mimeType: string;
  userId: string;
  sessionId: string;
  createdAt: string;
  /** When the recording was finalized. */
  endedAt: string | null;
  endedBy: EndedBy | null;
  sealedAt: string;
  /** The `kid` of the key that signed it, among GET /api/seal-keys. */
  keyId: string;
  /** Ed25519, base64url. */
  signature: string;
}

/** A public key of the service's seals (a JWK); `kid` is its RFC 7638 thumbprint. */
export interface SealKey {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
}

/** GET /api/seal-keys: every key that ever signed a seal, the current one first; old keys stay after a rotation. */
export interface SealKeys {
  keys: SealKey[];
}

export interface Readiness {
  status: 'ready' | 'not_ready';
  /** One entry per dependency checked (`database`, `storage`): `ok`, or a word saying what is wrong (`unavailable`). */
  checks: Record<string, string>;
}
