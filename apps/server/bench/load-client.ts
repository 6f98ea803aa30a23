/**
 * The simulated recorders of `pnpm bench:load`, in a process of their own so
 * that their CPU is never counted as the server's. Each recorder sends a part
 * of BENCH_PART_BYTES every BENCH_INTERVAL_MS (starts spread over the first
 * interval, each creating its recording when it starts), never two at once: a part that takes longer than the interval
 * delays the next one (counted as "late"). Against the service a part is what
 * the SDK does: one PUT to the recording's parts URL (local; BENCH_TWO_STEP=1:
 * POST /parts, then PUT to the URL it answers, as on S3); against the bare pipe, one PUT. Prints one JSON line of results.
 *
 * Env (set by load.ts): TARGET (service|bare), BASE, RECORDERS, INTERVAL_MS,
 * PART_BYTES, SECONDS, SECRET (HS256 key of the service's bearer tokens).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { sign } from 'hono/jwt';

const TARGET = process.env.TARGET as 'service' | 'bare';
const BASE = process.env.BASE!;
const RECORDERS = Number(process.env.RECORDERS);
const INTERVAL_MS = Number(process.env.INTERVAL_MS);
const PART_BYTES = Number(process.env.PART_BYTES);
const SECONDS = Number(process.env.SECONDS);
const SECRET = process.env.SECRET ?? '';
/** BENCH_TWO_STEP=1: POST /parts then PUT for every part, as before parts URLs (and as on S3). */
const TWO_STEP = process.env.BENCH_TWO_STEP === '1';

const body = randomBytes(PART_BYTES);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * One request on a kept-alive connection. A connection the server closed as idle just as
 * this request went out on it fails with ECONNRESET before any answer; like a browser,
 * the request is sent once more on a new connection (node's docs: request.reusedSocket).
 */
async function request(url: string, method: string, headers: Record<string, string>, payload: Buffer): Promise<Answer> {
  try {
    return await once(url, method, headers, payload);
  } catch (err) {
    if ((err as { reused?: boolean }).reused && (err as NodeJS.ErrnoException).code === 'ECONNRESET')
      return once(url, method, headers, payload);
    throw err;
  }
}

function once(url: string, method: string, headers: Record<string, string>, payload: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { ...headers, 'content-length': payload.length } });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', (err) => reject(Object.assign(err, { reused: req.reusedSocket })));
    req.end(payload);
  });
}

const latencies: number[] = [];
/** The service's two requests of a part apart: where the time goes. */
const urlLatencies: number[] = [];
const putLatencies: number[] = [];
/**
 * Parts started after the warm-up: two intervals, the first of which every recorder spends starting
 * (its create, then its first part: a create per recorder within one interval, which no steady
 * state has), and one more for what queued meanwhile to drain.
 */
const steadyLatencies: number[] = [];
const WARMUP_MS = 2 * INTERVAL_MS;
let startedAt = 0;
const errors: Record<string, number> = {};
let sentBytes = 0;
let late = 0;
const error = (what: string) => (errors[what] = (errors[what] ?? 0) + 1);

async function recorder(i: number, deadline: number): Promise<void> {
  // Sessions start at different times: each recorder starts (creates its recording, then
  // sends its first part) at its own moment within the first interval, not all at once.
  let next = Date.now() + (INTERVAL_MS * i) / RECORDERS;
  await new Promise((r) => setTimeout(r, next - Date.now()));
  let auth: Record<string, string> = {};
  let recordingId = '';
  let partsUrl: string | null = null;
  if (TARGET === 'service') {
    const token = await sign(
      { sub: `load-${i}`, name: `Load ${i}`, exp: Math.floor(Date.now() / 1000) + 3600 },
      SECRET,
      'HS256',
    );
    auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await request(
      `${BASE}/api/recordings`,
      'POST',
      auth,
      Buffer.from(JSON.stringify({ sessionId: `load-${i}`, mimeType: 'video/webm' })),
    );
    if (created.status !== 201 && created.status !== 200) return void error(`create ${created.status}`);
    const rec = JSON.parse(created.text) as { id: string; partsUrl?: { url: string } };
    recordingId = rec.id;
    // What the SDK does on a backend that hands out a parts URL (local): each part in one PUT.
    if (!TWO_STEP) partsUrl = rec.partsUrl?.url ?? null;
  }
  for (let part = 1; ; part++) {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (part > 1) late++;
    if (Date.now() >= deadline) return;
    const started = performance.now();
    try {
      let url = `${BASE}/part-${i}-${part}`;
      if (partsUrl) url = `${partsUrl}/${part}`;
      else if (TARGET === 'service') {
        const target = await request(
          `${BASE}/api/recordings/${recordingId}/parts`,
          'POST',
          auth,
          Buffer.from(JSON.stringify({ partNumber: part, sizeBytes: PART_BYTES })),
        );
        if (target.status !== 200) {
          error(`parts ${target.status}`);
          next += INTERVAL_MS;
          continue;
        }
        url = (JSON.parse(target.text) as { url: string }).url;
        urlLatencies.push(performance.now() - started);
      }
      const putStarted = performance.now();
      const put = await request(url, 'PUT', { 'content-type': 'application/octet-stream' }, body);
      putLatencies.push(performance.now() - putStarted);
      if (put.status !== 200) error(`put ${put.status}`);
      else {
        latencies.push(performance.now() - started);
        if (started - startedAt >= WARMUP_MS) steadyLatencies.push(performance.now() - started);
        sentBytes += PART_BYTES;
      }
    } catch (err) {
      error(String((err as Error).message).slice(0, 60));
    }
    next += INTERVAL_MS;
  }
}

const deadline = Date.now() + SECONDS * 1000;
startedAt = performance.now();
await Promise.all(Array.from({ length: RECORDERS }, (_, i) => recorder(i, deadline)));
agent.destroy();
const quantile = (xs: number[]) => {
  xs.sort((a, b) => a - b);
  return (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
};
const q = quantile(latencies);
const qUrl = quantile(urlLatencies);
const qPut = quantile(putLatencies);
const qSteady = quantile(steadyLatencies);
console.log(
  JSON.stringify({
    parts: latencies.length,
    sentBytes,
    late,
    errors,
    p50: q(0.5),
    p99: q(0.99),
    max: q(1),
    url: { p50: qUrl(0.5), p99: qUrl(0.99) },
    put: { p50: qPut(0.5), p99: qPut(0.99) },
    steady: { p50: qSteady(0.5), p99: qSteady(0.99) },
    /** This process's own CPU (user + system), seconds: the recorders share the machine with the server. */
    clientCpu: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  }),
);
