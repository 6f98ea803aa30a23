/**
 * GET /api/recordings/:id/seal (the owner, an administrator or an auditor; under the bearer guard) and GET /api/seal-keys
 * (anyone: a verifier needs the public keys and nothing else).
 */
import { Hono } from 'hono';
import type { SealKeys } from '@sortie/contract';
import type { AuthEnv } from '../auth/middleware.js';
import { conflict } from '../errors.js';
import { validate } from '../lib/validate.js';
import { idParam } from '../recordings/schemas.js';
import type { RecordingRoutesDeps } from '../recordings/routes.js';
import type { RecordingsService } from '../recordings/service.js';
import type { SealKeyring } from './keys.js';
import type { SealService } from './service.js';

export function sealRoutes(deps: {
  recordings: RecordingsService;
  seals: SealService;
  /** The audit trail's hook for a read of someone else's recording (recordings/routes.ts). */
  onForeignRead?: RecordingRoutesDeps['onForeignRead'];
}) {
  const app = new Hono<AuthEnv>();
  app.get('/:id/seal', validate('param', idParam), async (c) => {
    const row = await deps.recordings.getRow(c.get('user'), c.req.valid('param').id, 'read');
    if (row.userId !== c.get('user').id) await deps.onForeignRead?.(c.get('user'), row, 'seal');
    const seal = await deps.seals.get(row.id);
    if (!seal)
      throw conflict(
        row.status === 'ready'
          ? 'The recording is ready and is being sealed; ask again in a few seconds.'
          : `The recording is ${row.status}; it is sealed once it is ready.`,
      );
    return c.body(seal, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'private, max-age=3600' });
  });
  return app;
}

export function sealKeyRoutes(keys: SealKeyring) {
  const app = new Hono();
  app.get('/seal-keys', async (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ keys: await keys.published() } satisfies SealKeys);
  });
  return app;
}
