/**
 * Demo mode: the service mints tokens for a few fixed people so that a
 * newcomer can try the product with no identity provider. Refused in
 * production by config.ts.
 */
import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import { sign } from 'hono/jwt';
import { z } from 'zod';
import { validate } from '../lib/validate.js';

export const DEMO_USERS = {
  user: { sub: 'demo-user', name: 'Demo User', role: 'user' },
  other: { sub: 'demo-user-2', name: 'Second Demo User', role: 'user' },
  admin: { sub: 'demo-admin', name: 'Demo Admin', role: 'admin' },
  // The read-only oversight role, so that a newcomer can see what an auditor sees (and that it is audited).
  auditor: { sub: 'demo-auditor', name: 'Demo Auditor', role: 'auditor' },
} as const;

export type DemoUser = keyof typeof DEMO_USERS;

/**
 * The key demo tokens are signed and checked with: derived from the deployment's key (settings.signingKey, kept
 * in the database, so every replica of one demo instance agrees) but not equal to it, so that a demo bearer
 * token is never a valid signed URL token nor the reverse. It is never SORTIE_AUTH_JWT_SECRET: config.ts refuses
 * demo mode when a real secret or a JWKS is configured, so no other instance can accept a demo admin token.
 */
export function demoSigningKey(deploymentKey: string): string {
  return createHmac('sha256', deploymentKey).update('sortie demo bearer tokens v1').digest('base64url');
}

/** Demo tokens live for a working day. */
const TTL_SECONDS = 12 * 60 * 60;

export async function demoToken(secret: string, who: DemoUser, now = new Date()): Promise<string> {
  const u = DEMO_USERS[who];
  const iat = Math.floor(now.getTime() / 1000);
  return sign({ sub: u.sub, name: u.name, role: u.role, iat, exp: iat + TTL_SECONDS }, secret, 'HS256');
}

export function demoRoutes(secret: string) {
  const app = new Hono();
  app.get('/', (c) => c.json({ demo: true, users: Object.entries(DEMO_USERS).map(([as, u]) => ({ as, ...u })) }));
  app.post('/token', validate('json', z.object({ as: z.enum(['user', 'other', 'admin', 'auditor']) })), async (c) => {
    const { as } = c.req.valid('json');
    return c.json({ token: await demoToken(secret, as), user: DEMO_USERS[as] });
  });
  return app;
}
