/**
 * The service's Prometheus metrics, on a registry of its own per app (not
 * prom-client's global one) so that several apps in one process — tests, two
 * replicas side by side — never clash over a metric name.
 *
 * What is counted where:
 * - HTTP requests and errors by route pattern: the request middleware
 *   (./http.ts). Labels are route patterns, never raw paths, so the token in
 *   /api/uploads/:token never reaches a label and cardinality stays bounded.
 * - Bytes and parts received, part latency: the local backend's part PUT,
 *   which streams through the service. On S3 the bytes go straight to the
 *   bucket; the service counts the part URLs it issued instead.
 * - Recordings by status: one GROUP BY query at scrape time, so every replica
 *   reports the same, current figure (aggregate with max(), not sum()).
 * - Retention deletions: `retentionDeleted(n)`, called by the retention job.
 */
import { count } from 'drizzle-orm';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import { RECORDING_STATUSES, recordings } from '../db/schema.js';

export interface Metrics {
  registry: Registry;
  /** A request answered: route is the matched pattern (e.g. /api/recordings/:id). */
  observeRequest(method: string, route: string, status: number): void;
  /** A local part stored: its size and how long its PUT took. */
  partReceived(bytes: number, seconds: number): void;
  /** A presigned (or local) part URL handed out by POST /api/recordings/:id/parts. */
  partUrlIssued(): void;
  /** Recordings removed by the retention cleanup (hourly job or the admin's run-now). */
  retentionDeleted(n: number): void;
  /** The exposition text and its content type, for GET /metrics. */
  render(): Promise<{ body: string; contentType: string }>;
}

/** Part PUTs range from a few KiB (a short recording's tail) to tens of MiB on slow links. */
const PART_SECONDS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(db: Db): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const requests = new Counter({
    name: 'sortie_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'sortie_http_errors_total',
    help: 'HTTP requests answered with a status of 400 or more, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const bytes = new Counter({
    name: 'sortie_upload_bytes_received_total',
    help: 'Bytes of recording parts stored through the service (local backend).',
    registers,
  });
  const parts = new Counter({
    name: 'sortie_upload_parts_received_total',
    help: 'Recording parts stored through the service (local backend).',
    registers,
  });
  const partSeconds = new Histogram({
    name: 'sortie_upload_part_duration_seconds',
    help: 'Time from the start of a part PUT to its answer, for parts stored through the service.',
    buckets: PART_SECONDS_BUCKETS,
    registers,
  });
  const partUrls = new Counter({
    name: 'sortie_upload_part_urls_issued_total',
    help: 'Part upload URLs issued (presigned S3 UploadPart URLs, or local upload URLs).',
    registers,
  });
  const retention = new Counter({
    name: 'sortie_retention_deleted_total',
    help: 'Recordings deleted by the retention cleanup.',
    registers,
  });
  new Gauge({
    name: 'sortie_recordings',
    help: 'Recordings in the database by status, read at scrape time.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      const rows = await db
        .select({ status: recordings.status, n: count() })
        .from(recordings)
        .groupBy(recordings.status);
      const by = new Map(rows.map((r) => [r.status, Number(r.n)]));
      // Every status is always present (0 when none), so alerts need no absent() dance.
      for (const status of RECORDING_STATUSES) this.set({ status }, by.get(status) ?? 0);
    },
  });

  return {
    registry,
    observeRequest(method, route, status) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      if (status >= 400) errors.inc(labels);
    },
    partReceived(n, seconds) {
      parts.inc();
      bytes.inc(n);
      partSeconds.observe(seconds);
    },
    partUrlIssued: () => partUrls.inc(),
    retentionDeleted(n) {
      if (n > 0) retention.inc(n);
    },
    async render() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
