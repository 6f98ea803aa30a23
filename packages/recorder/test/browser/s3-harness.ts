/**
 * The service on the S3 backend for the browser tests and bench:lag: the
 * loopback S3 server the server's own tests use (apps/server/test/s3-server.ts,
 * s3rver with SigV4 checks and the operations it lacks), with a CORS rule so
 * a page on the service's origin may PUT parts and POST tails straight to the
 * bucket and read their ETag, as it would on AWS.
 */
import { randomUUID } from 'node:crypto';
import {
  S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY,
  startS3Server,
  type S3TestServer,
} from '../../../../apps/server/test/s3-server.js';
import { startService, type TestService } from './harness.js';

export const CORS_XML = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export type Backend = 'local' | 's3';

/** The service on `backend`; on S3 with its own loopback S3 server, closed with it. */
export async function startBackend(
  backend: Backend,
  env: Record<string, string> = {},
  opts: { clock?: { now(): Date } } = {},
): Promise<TestService & { s3: S3TestServer | null }> {
  if (backend === 'local') return { ...(await startService(env, opts)), s3: null };
  // The AWS SDK's default credential chain reads these, as it would in production.
  process.env.AWS_ACCESS_KEY_ID = S3_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = S3_SECRET_ACCESS_KEY;
  const s3 = await startS3Server({ bucket: 'sortie-browser', corsXml: CORS_XML });
  const svc = await startService(
    {
      SORTIE_RECORDING_STORAGE_BACKEND: 's3',
      SORTIE_RECORDING_S3_BUCKET: s3.bucket,
      SORTIE_RECORDING_S3_REGION: s3.region,
      SORTIE_RECORDING_S3_ENDPOINT: s3.endpoint,
      SORTIE_RECORDING_S3_PREFIX: `browser-${randomUUID().slice(0, 8)}/`,
      ...env,
    },
    opts,
  );
  return {
    ...svc,
    s3,
    async close() {
      await svc.close();
      await s3.close();
    },
  };
}

/** Backends to run on: SORTIE_TEST_BACKENDS (comma-separated), default both. */
export function backendsUnderTest(): Backend[] {
  const list = (process.env.SORTIE_TEST_BACKENDS ?? 'local,s3').split(',').map((s) => s.trim());
  for (const b of list) if (b !== 'local' && b !== 's3') throw new Error(`SORTIE_TEST_BACKENDS: unknown backend ${b}`);
  return list as Backend[];
}
