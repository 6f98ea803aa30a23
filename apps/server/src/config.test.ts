import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const SECRET = 'x'.repeat(32);

describe('loadConfig', () => {
  it("has the admin guide's defaults", () => {
    const c = loadConfig({ SORTIE_AUTH_JWT_SECRET: SECRET });
    expect(c.recordingEnabled).toBe(false);
    expect(c.storageBackend).toBe('local');
    expect(c.storagePath).toBe('/data/recordings');
    expect(c.maxSizeMb).toBe(500);
    expect(c.maxSizeBytes).toBe(500 * 1048576);
    expect(c.retentionDays).toBe(0);
    expect(c.s3).toEqual({ bucket: null, region: 'us-east-1', endpoint: null, prefix: 'recordings/', sse: null });
    expect(c.port).toBe(3000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.databaseUrl).toBeNull();
    expect(c.dataDir).toBe('./.sortie');
    expect(c.corsOrigins).toEqual([]);
    expect(c.demo).toBe(false);
    expect(c.capture).toEqual({ frameRate: 15, videoBitsPerSecond: 1_500_000 });
  });

  it('reads the capture defaults the SDK is handed (frame rate, bitrate in kbit/s)', () => {
    const c = loadConfig({
      SORTIE_AUTH_JWT_SECRET: SECRET,
      SORTIE_RECORDING_FRAME_RATE: '5',
      SORTIE_RECORDING_VIDEO_BITRATE_KBPS: '800',
    });
    expect(c.capture).toEqual({ frameRate: 5, videoBitsPerSecond: 800_000 });
  });

  it('accepts true/false/1/0 in any case for bools', () => {
    for (const [v, want] of [
      ['TRUE', true],
      ['1', true],
      ['False', false],
      ['0', false],
    ] as const) {
      expect(loadConfig({ SORTIE_AUTH_JWT_SECRET: SECRET, SORTIE_VIDEO_RECORDING_ENABLED: v }).recordingEnabled).toBe(
        want,
      );
    }
  });

  it('reads S3 settings and normalizes the prefix', () => {
    const c = loadConfig({
      SORTIE_AUTH_JWT_SECRET: SECRET,
      SORTIE_RECORDING_STORAGE_BACKEND: 's3',
      SORTIE_RECORDING_S3_BUCKET: 'b',
      SORTIE_RECORDING_S3_ENDPOINT: 'http://127.0.0.1:9000',
      SORTIE_RECORDING_S3_PREFIX: 'rec',
    });
    expect(c.s3).toEqual({
      bucket: 'b',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      prefix: 'rec/',
      sse: null,
    });
  });

  it('reads S3 server-side encryption: SSE-S3, SSE-KMS with and without a key id', () => {
    const s3 = {
      SORTIE_AUTH_JWT_SECRET: SECRET,
      SORTIE_RECORDING_STORAGE_BACKEND: 's3',
      SORTIE_RECORDING_S3_BUCKET: 'b',
    };
    expect(loadConfig({ ...s3, SORTIE_RECORDING_S3_SSE: 'AES256' }).s3.sse).toEqual({ algorithm: 'AES256' });
    expect(loadConfig({ ...s3, SORTIE_RECORDING_S3_SSE: 'aws:kms' }).s3.sse).toEqual({
      algorithm: 'aws:kms',
      kmsKeyId: null,
    });
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(
      loadConfig({ ...s3, SORTIE_RECORDING_S3_SSE: 'aws:kms', SORTIE_RECORDING_S3_SSE_KMS_KEY_ID: arn }).s3.sse,
    ).toEqual({ algorithm: 'aws:kms', kmsKeyId: arn });
    // Blank is unset, as for every variable (a Helm value left empty).
    expect(loadConfig({ ...s3, SORTIE_RECORDING_S3_SSE: '', SORTIE_RECORDING_S3_SSE_KMS_KEY_ID: ' ' }).s3.sse).toBe(
      null,
    );
  });

  it('refuses an unknown SSE algorithm, a KMS key id without aws:kms and SSE on local disk, naming the variable', () => {
    expect(() => loadConfig({ SORTIE_AUTH_JWT_SECRET: SECRET, SORTIE_RECORDING_S3_SSE: 'AES256' })).toThrow(
      'SORTIE_RECORDING_S3_SSE: only with SORTIE_RECORDING_STORAGE_BACKEND=s3 (the local backend does not encrypt recordings at rest)',
    );
    const base = {
      SORTIE_AUTH_JWT_SECRET: SECRET,
      SORTIE_RECORDING_STORAGE_BACKEND: 's3',
      SORTIE_RECORDING_S3_BUCKET: 'b',
    };
    expect(() => loadConfig({ ...base, SORTIE_RECORDING_S3_SSE: 'aes256' })).toThrow(
      'SORTIE_RECORDING_S3_SSE: expected "AES256" or "aws:kms", got "aes256"',
    );
    expect(() => loadConfig({ ...base, SORTIE_RECORDING_S3_SSE: 'aws:kms:dsse' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SORTIE_RECORDING_S3_SSE_KMS_KEY_ID: 'alias/rec' })).toThrow(
      'SORTIE_RECORDING_S3_SSE_KMS_KEY_ID: only with SORTIE_RECORDING_S3_SSE=aws:kms (got no SORTIE_RECORDING_S3_SSE)',
    );
    expect(() =>
      loadConfig({ ...base, SORTIE_RECORDING_S3_SSE: 'AES256', SORTIE_RECORDING_S3_SSE_KMS_KEY_ID: 'alias/rec' }),
    ).toThrow(
      'SORTIE_RECORDING_S3_SSE_KMS_KEY_ID: only with SORTIE_RECORDING_S3_SSE=aws:kms (got "AES256" SORTIE_RECORDING_S3_SSE)',
    );
  });

  const bad: [string, Record<string, string>][] = [
    ['SORTIE_RECORDING_MAX_SIZE_MB', { SORTIE_RECORDING_MAX_SIZE_MB: 'abc' }],
    ['SORTIE_RECORDING_MAX_SIZE_MB', { SORTIE_RECORDING_MAX_SIZE_MB: '0' }],
    ['SORTIE_RECORDING_STORAGE_BACKEND', { SORTIE_RECORDING_STORAGE_BACKEND: 'ftp' }],
    ['SORTIE_RECORDING_S3_BUCKET', { SORTIE_RECORDING_STORAGE_BACKEND: 's3' }],
    ['SORTIE_RECORDING_RETENTION_DAYS', { SORTIE_RECORDING_RETENTION_DAYS: '-1' }],
    ['SORTIE_VIDEO_RECORDING_ENABLED', { SORTIE_VIDEO_RECORDING_ENABLED: 'yes' }],
    ['SORTIE_RECORDING_S3_ENDPOINT', { SORTIE_RECORDING_S3_ENDPOINT: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['SORTIE_CORS_ORIGINS', { SORTIE_CORS_ORIGINS: 'https://a.example.com/path' }],
    ['PORT', { PORT: '70000' }],
    ['SORTIE_RECORDING_FRAME_RATE', { SORTIE_RECORDING_FRAME_RATE: '0' }],
    ['SORTIE_RECORDING_FRAME_RATE', { SORTIE_RECORDING_FRAME_RATE: '61' }],
    ['SORTIE_RECORDING_VIDEO_BITRATE_KBPS', { SORTIE_RECORDING_VIDEO_BITRATE_KBPS: '1.5' }],
    ['SORTIE_RECORDING_VIDEO_BITRATE_KBPS', { SORTIE_RECORDING_VIDEO_BITRATE_KBPS: '50' }],
  ];
  it.each(bad)('refuses a bad %s', (variable, env) => {
    expect(() => loadConfig({ SORTIE_AUTH_JWT_SECRET: SECRET, ...env })).toThrowError(ConfigError);
    try {
      loadConfig({ SORTIE_AUTH_JWT_SECRET: SECRET, ...env });
    } catch (err) {
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message.startsWith(`${variable}: `)).toBe(true);
    }
  });

  it('refuses to start with no auth outside demo mode, and demo mode in production', () => {
    expect(() => loadConfig({})).toThrowError(/^SORTIE_AUTH_JWT_SECRET: no authentication configured/);
    expect(() => loadConfig({ SORTIE_DEMO: 'true' })).not.toThrow();
    expect(() => loadConfig({ SORTIE_DEMO: 'true', NODE_ENV: 'production' })).toThrowError(/^SORTIE_DEMO: /);
    expect(() => loadConfig({ SORTIE_AUTH_JWKS_URL: 'https://idp.example.com/jwks.json' })).not.toThrow();
  });
});

describe('the service process with a bad configuration', () => {
  const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  const cases: [string, Record<string, string>][] = [
    ['SORTIE_RECORDING_MAX_SIZE_MB', { SORTIE_AUTH_JWT_SECRET: SECRET, SORTIE_RECORDING_MAX_SIZE_MB: 'abc' }],
    [
      'SORTIE_RECORDING_STORAGE_BACKEND',
      { SORTIE_AUTH_JWT_SECRET: SECRET, SORTIE_RECORDING_STORAGE_BACKEND: 'dropbox' },
    ],
    ['SORTIE_RECORDING_S3_BUCKET', { SORTIE_AUTH_JWT_SECRET: SECRET, SORTIE_RECORDING_STORAGE_BACKEND: 's3' }],
    ['SORTIE_AUTH_JWT_SECRET', {}],
  ];
  it.each(cases)('stops with one line naming %s and exit code 1', async (variable, env) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('SORTIE_') && k !== 'DATABASE_URL'),
    );
    const result = await promisify(execFile)(tsx, [entry], {
      env: { ...clean, PORT: '0', ...env },
      timeout: 20_000,
    }).then(
      () => ({ code: 0, stderr: '', stdout: '' }),
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    expect(result.code).toBe(1);
    const lines = result.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.includes('Unknown user config'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^sortie: invalid configuration: ${variable}: `));
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});
