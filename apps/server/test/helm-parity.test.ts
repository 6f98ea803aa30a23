/**
 * The Helm chart against the service and the admin guide, without a helm
 * binary (CI also runs `helm lint` and `helm template`): every variable the
 * service reads is set by the chart from values.yaml, values.yaml carries the
 * admin guide's `recording:` block exactly, and the chart's defaults configure
 * the service exactly as its own defaults do.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const read = (p: string) => readFileSync(root(p), 'utf8');
const CHART = 'helm/sortie-recording';

type Values = Record<string, unknown>;
const values = parse(read(`${CHART}/values.yaml`)) as Values;
const envTemplate = read(`${CHART}/templates/_env.tpl`);
const deployment = read(`${CHART}/templates/deployment.yaml`);
const migrationJob = read(`${CHART}/templates/migration-job.yaml`);

/**
 * Variables of config.ts that the chart deliberately does not take from values,
 * each with its reason. Anything else config.ts reads must be in the template.
 */
const NOT_FROM_VALUES: Record<string, string> = {
  PORT: 'fixed by the image (ENV PORT=3000); the Deployment exposes and probes that port',
  HOST: 'fixed by the image (ENV HOST=0.0.0.0): a pod listens on every interface',
  NODE_ENV: 'set by the chart to the constant "production", which also refuses demo mode',
  SORTIE_DEMO: 'demo mode mints admin tokens for anyone: never in a cluster',
  SORTIE_DATA_DIR: 'only for the embedded database; the chart requires PostgreSQL (database.existingSecret)',
};
/** Names the template sets that config.ts does not read: the AWS SDK's default credential chain does. */
const READ_BY_AWS_SDK = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

interface EnvEntry {
  name: string;
  /** `.Values` path of a plain value, or of the Secret name for a secretKeyRef. */
  path: string | null;
  kind: 'value' | 'join' | 'secret' | 'constant';
  constant?: string;
  /** Only set when this `.Values` path is truthy ({{- if ... }} around the entry). */
  guard: string | null;
}

/** The env entries of _env.tpl, in order, with where each value comes from. */
function envEntries(tpl: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  const lines = tpl.split('\n');
  let guard: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const ifMatch = /^\{\{- if \.Values\.([\w.]+) \}\}$/.exec(line.trim());
    if (ifMatch) guard = ifMatch[1]!;
    if (line.trim() === '{{- end }}') guard = null;
    const nameMatch = /^- name: (\w+)$/.exec(line);
    if (!nameMatch) continue;
    const body = lines.slice(i + 1, i + 6).join('\n');
    const next = lines[i + 1]!.trim();
    let entry: EnvEntry;
    let m: RegExpExecArray | null;
    if ((m = /^value: \{\{ \.Values\.([\w.]+) \| quote \}\}$/.exec(next)))
      entry = { name: nameMatch[1]!, path: m[1]!, kind: 'value', guard };
    else if ((m = /^value: \{\{ join "," \.Values\.([\w.]+) \| quote \}\}$/.exec(next)))
      entry = { name: nameMatch[1]!, path: m[1]!, kind: 'join', guard };
    else if ((m = /^value: "([^"]*)"$/.exec(next)))
      entry = { name: nameMatch[1]!, path: null, kind: 'constant', constant: m[1]!, guard };
    else if ((m = /secretKeyRef:\s+name: \{\{ \.Values\.([\w.]+) \}\}/.exec(body)))
      entry = { name: nameMatch[1]!, path: m[1]!, kind: 'secret', guard };
    else throw new Error(`_env.tpl: cannot tell where ${nameMatch[1]} comes from: ${next}`);
    entries.push(entry);
  }
  return entries;
}

function at(obj: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' && k in o ? (o as Record<string, unknown>)[k] : undefined),
      obj,
    );
}
const has = (obj: unknown, path: string) => at(obj, path) !== undefined;

/** The environment the chart renders from `v` for a pod (secrets stood in by `secrets`). */
function render(v: Values, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of envEntries(envTemplate)) {
    if (e.guard && !at(v, e.guard)) continue;
    if (e.kind === 'constant') env[e.name] = e.constant!;
    else if (e.kind === 'value') env[e.name] = String(at(v, e.path!));
    else if (e.kind === 'join') env[e.name] = (at(v, e.path!) as string[]).join(',');
    else env[e.name] = secrets[e.name] ?? '';
  }
  return env;
}

/**
 * The admin guide's "Helm Configuration" `recording:` block. The guide is
 * kept in the repository (docs/recording-admin-guide.md); the chart's README quotes the
 * block verbatim, and the quote is checked against the guide.
 */
const ADMIN_GUIDE = 'docs/recording-admin-guide.md';
function recordingBlock(markdown: string, heading: string, source: string): Values {
  const section = markdown.slice(markdown.indexOf(heading));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (markdown.indexOf(heading) < 0 || !block) throw new Error(`${source}: no yaml block under "${heading}"`);
  return (parse(block) as { recording: Values }).recording;
}
function adminGuideRecordingBlock(): { parsed: Values; keys: string[] } {
  const quoted = recordingBlock(read(`${CHART}/README.md`), '## Recording settings', 'chart README');
  expect(quoted).toEqual(recordingBlock(read(ADMIN_GUIDE), '## Helm Configuration', ADMIN_GUIDE));
  return { parsed: quoted, keys: leafKeys(quoted) };
}

function leafKeys(o: Values, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? leafKeys(v as Values, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

const entries = envEntries(envTemplate);
const byName = new Map(entries.map((e) => [e.name, e]));

describe('Helm chart parity', () => {
  it('sets every variable the service reads from values.yaml, except the documented exclusions', () => {
    const missing = CONFIG_VARIABLES.filter((name) => !(name in NOT_FROM_VALUES) && !byName.has(name));
    expect(missing).toEqual([]);
    for (const name of CONFIG_VARIABLES) {
      if (name in NOT_FROM_VALUES) continue;
      const e = byName.get(name)!;
      expect(e.kind, name).not.toBe('constant');
      expect(has(values, e.path!), `${name} ← .Values.${e.path}`).toBe(true);
    }
    // Every exclusion names a variable the service really reads (no stale reasons).
    for (const name of Object.keys(NOT_FROM_VALUES)) expect(CONFIG_VARIABLES).toContain(name);
  });

  it('sets no name the service does not read (a misspelt variable would be silently ignored)', () => {
    const known = new Set<string>([...CONFIG_VARIABLES, ...READ_BY_AWS_SDK]);
    expect(entries.map((e) => e.name).filter((n) => !known.has(n))).toEqual([]);
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
  });

  it('never sets demo mode or the embedded database, and pins NODE_ENV=production', () => {
    expect(byName.has('SORTIE_DEMO')).toBe(false);
    expect(byName.has('SORTIE_DATA_DIR')).toBe(false);
    expect(byName.get('NODE_ENV')).toMatchObject({ kind: 'constant', constant: 'production' });
    for (const file of readdirSync(root(`${CHART}/templates`))) {
      expect(read(`${CHART}/templates/${file}`), file).not.toMatch(/name: SORTIE_DEMO\b/);
    }
    expect(read(`${CHART}/values.yaml`)).not.toMatch(/demo/i);
  });

  it('takes the JWT secret, the seal key, the database URL and the S3 keys from Secrets, never from plain values', () => {
    for (const name of ['SORTIE_AUTH_JWT_SECRET', 'SORTIE_SEAL_PRIVATE_KEY', 'DATABASE_URL', ...READ_BY_AWS_SDK]) {
      expect(byName.get(name)?.kind, name).toBe('secret');
    }
  });

  it("carries the admin guide's recording block exactly: same keys, same defaults", () => {
    const guide = adminGuideRecordingBlock();
    expect(leafKeys(values.recording as Values)).toEqual(guide.keys);
    expect(values.recording).toEqual(guide.parsed);
  });

  it('maps each key of the recording block onto its variable of the admin guide', () => {
    const expected: Record<string, string> = {
      'recording.enabled': 'SORTIE_VIDEO_RECORDING_ENABLED',
      'recording.storageBackend': 'SORTIE_RECORDING_STORAGE_BACKEND',
      'recording.storagePath': 'SORTIE_RECORDING_STORAGE_PATH',
      'recording.maxSizeMB': 'SORTIE_RECORDING_MAX_SIZE_MB',
      'recording.retentionDays': 'SORTIE_RECORDING_RETENTION_DAYS',
      'recording.s3.bucket': 'SORTIE_RECORDING_S3_BUCKET',
      'recording.s3.region': 'SORTIE_RECORDING_S3_REGION',
      'recording.s3.endpoint': 'SORTIE_RECORDING_S3_ENDPOINT',
      'recording.s3.prefix': 'SORTIE_RECORDING_S3_PREFIX',
    };
    expect(Object.keys(expected)).toEqual(adminGuideRecordingBlock().keys.map((k) => `recording.${k}`));
    for (const [path, name] of Object.entries(expected)) expect(byName.get(name)?.path, name).toBe(path);
  });

  it("configures the service from the chart's defaults exactly as the service's own defaults do", () => {
    const secret = { SORTIE_AUTH_JWT_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://sortie@db:5432/sortie' };
    const v = structuredClone(values);
    (v.auth as Values).existingSecret = 'sortie-auth';
    (v.database as Values).existingSecret = 'sortie-db';
    const fromChart = loadConfig(render(v, secret));
    const own = loadConfig({ ...secret, NODE_ENV: 'production' });
    expect(fromChart).toEqual(own);
  });

  it('renders the values of an S3 install into the configuration they name', () => {
    const v = structuredClone(values);
    Object.assign(v.recording as Values, { enabled: true, storageBackend: 's3', maxSizeMB: 2048, retentionDays: 30 });
    Object.assign((v.recording as Values).s3 as Values, {
      bucket: 'rec',
      region: 'eu-west-1',
      endpoint: 'http://minio:9000',
      prefix: 'sortie/',
    });
    Object.assign(v, {
      publicUrl: 'https://rec.example.com',
      corsOrigins: ['https://a.example.com', 'https://b.example.com'],
      abandonedAfterMinutes: 45,
    });
    Object.assign(v.auth as Values, { jwksUrl: 'https://login.example.com/jwks.json' });
    Object.assign(v.database as Values, { existingSecret: 'db' });
    Object.assign(v.s3Credentials as Values, { existingSecret: 's3' });
    Object.assign(v.s3Encryption as Values, { sse: 'aws:kms', kmsKeyId: 'alias/sortie' });
    const env = render(v, {
      DATABASE_URL: 'postgres://db/sortie',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'key',
    });
    expect(env.SORTIE_AUTH_JWT_SECRET).toBeUndefined();
    expect(env.AWS_ACCESS_KEY_ID).toBe('id');
    expect(loadConfig(env)).toMatchObject({
      recordingEnabled: true,
      storageBackend: 's3',
      maxSizeBytes: 2048 * 1048576,
      retentionDays: 30,
      s3: {
        bucket: 'rec',
        region: 'eu-west-1',
        endpoint: 'http://minio:9000',
        prefix: 'sortie/',
        sse: { algorithm: 'aws:kms', kmsKeyId: 'alias/sortie' },
      },
      publicUrl: 'https://rec.example.com',
      corsOrigins: ['https://a.example.com', 'https://b.example.com'],
      abandonedAfterMinutes: 45,
      auth: { jwtSecret: null, jwksUrl: 'https://login.example.com/jwks.json' },
      databaseUrl: 'postgres://db/sortie',
    });
  });

  it('gives the Deployment and the migration Job the same environment, probes on /healthz and /readyz, and the image port', () => {
    for (const t of [deployment, migrationJob])
      expect(t).toContain('{{- include "sortie-recording.env" . | nindent 12 }}');
    expect(deployment).toMatch(/livenessProbe:\s+httpGet:\s+path: \/healthz/);
    expect(deployment).toMatch(/readinessProbe:\s+httpGet:\s+path: \/readyz/);
    const port = loadConfig({ SORTIE_DEMO: 'true' }).port;
    expect(deployment).toContain(`containerPort: ${port}`);
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toContain(`PORT=${port}`);
    expect(dockerfile).toContain('HOST=0.0.0.0');
    expect(dockerfile).toContain(`EXPOSE ${port}`);
  });

  it('runs the migration as a pre-install/pre-upgrade hook with the compiled migrate command', () => {
    expect(migrationJob).toContain('helm.sh/hook: pre-install,pre-upgrade');
    const cmd = /command: \[(.*)\]/.exec(migrationJob)?.[1];
    const script = /"dist\/(.+)\.js"/.exec(cmd ?? '')?.[1];
    expect(script).toBe('db/migrate-cli');
    expect(existsSync(root(`apps/server/src/${script}.ts`))).toBe(true);
    const pkg = JSON.parse(read('apps/server/package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.migrate).toBe(`tsx src/${script}.ts`);
    expect(pkg.scripts['migrate:dist']).toContain(`dist/${script}.js`);
  });

  it('refuses the local backend on several replicas without a ReadWriteMany volume', () => {
    const helpers = read(`${CHART}/templates/_helpers.tpl`);
    expect(helpers).toMatch(/if and \(eq \$backend "local"\) \(gt \(int \.Values\.replicaCount\) 1\)/);
    expect(helpers).toMatch(
      /if not \(has "ReadWriteMany" \.Values\.persistence\.accessModes\)[\s\S]*?fail "the local backend with replicaCount > 1/,
    );
    expect(deployment.startsWith('{{- include "sortie-recording.validate" . -}}')).toBe(true);
    // And the PVC is mounted at the storage path for the local backend.
    expect(deployment).toMatch(/- name: recordings\s+mountPath: \{\{ \.Values\.recording\.storagePath \}\}/);
  });
});
